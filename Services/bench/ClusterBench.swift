import Foundation
import SkeinCore
import SkeinLauncher

/// `skein-bench cluster`: replication figures from one run on a local cluster it starts
/// itself (node-a, node-b, node-c on 127.0.0.1/.2/.3, node-d on .4 for the full copy),
/// every phase bounded in time:
/// 1. single-node baseline: the foundation benchmark's gateway load on a node alone;
/// 2. replicated throughput: that load on node-a until node-b and node-c applied all of it;
/// 3. replication lag at half that rate (node-a's commit → node-b's commit);
/// 4. catch-up of node-c's replicator after an outage;
/// 5. full copy of node-a's records to a new node-d after node-a's log was deleted.
final class ClusterBench {
    static let usage = "skein-bench cluster [--records N] [--clients N] [--batch N] [--lag-seconds S] [--lag-rate R] [--copy-records N] "
        + "[--catchup-records N] [--catchup-batch N] [--limit-seconds S]"
    static let defaults = ["records": 96_000, "clients": 16, "batch": 100, "lag-seconds": 10, "lag-rate": 0, "copy-records": 1_000_000,
                           "catchup-records": 200_000, "catchup-batch": 100, "limit-seconds": 1800]
    /// Longest wait for one node to apply another's log.
    static let applyTimeout = 600.0

    let options: [String: Int]
    let load: InsertLoad
    var report = ClusterReport()
    /// The series behind the figures (throughput per phase, lag distribution, copy progress).
    let figures = BenchFigures(prefix: "cluster")
    /// The cluster's nodes while they run (shut down at the end, also on errors).
    var running: [ClusterNode] = []

    init(options: [String: Int]) {
        self.options = options
        load = InsertLoad(records: options["records"]!, clients: options["clients"]!, batch: options["batch"]!)
    }

    func run() throws {
        print("skein-bench cluster: \(load.clients) clients, batches of \(load.batch) records (~\(BenchRecords.record(1).serialized().count) bytes, 8 fields)")
        print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.physicalMemory >> 30) GiB")
        report.singleNodeRPS = try singleNodeBaseline()

        let pki = try BenchPKI()
        defer { pki.remove() }
        let addresses = try ["a", "b", "c", "d"].enumerated().map { i, letter in
            let ip = "127.0.0.\(i + 1)"
            return ClusterNode.Address(name: "node-\(letter)", ip: ip, apiPort: try FreePort.on(ip), replicationPort: try FreePort.on(ip))
        }
        let (a, b, c, d) = (addresses[0], addresses[1], addresses[2], addresses[3])
        defer { for node in running.reversed() { node.shutdown() } }
        for (address, routes) in [(a, [b, c, d]), (b, [a, c]), (c, [a, b])] {
            running.append(try ClusterNode(address, routes: routes, pki: pki))
        }
        let (nodeA, nodeB, nodeC) = (running[0], running[1], running[2])
        try waitConnected(running)
        print("cluster: node-a \(a.ip):\(a.apiPort), node-b \(b.ip):\(b.apiPort), node-c \(c.ip):\(c.apiPort) (replicators on :\(a.replicationPort), :\(b.replicationPort), :\(c.replicationPort))")

        try replicatedThroughput(nodeA, followers: [nodeB, nodeC])
        try replicationLag(nodeA, nodeB, followers: [nodeB, nodeC])
        try catchUp(nodeA, nodeB, nodeC)
        try fullCopy(nodeA, newcomer: d, pki: pki, droppedTables: ["throughput", "lag", "catchup"])
        figures.finish()
        report.print(load: load)
    }

    /// CPU accounting of every running service of the cluster and of this benchmark
    /// (its load clients), from now on.
    func cpuAccount() -> CPUAccount {
        var pids: [String: Int32] = ["bench": getpid()]
        for node in running {
            for (service, p) in node.node.processes where p.isRunning {
                pids["\(node.name.dropFirst(5)).\(service)"] = p.pid
            }
        }
        return CPUAccount(pids)
    }

    /// Waits until every node's subscription to every other started node is up
    /// (`cluster_status` through its gateway), bounded.
    func waitConnected(_ nodes: [ClusterNode]) throws {
        let deadline = Date().addingTimeInterval(60)
        for node in nodes {
            let peers = Set(nodes.map(\.name)).subtracting([node.name])
            while true {
                let status = try? node.node.operation(["operation": "cluster_status"])
                let up = (status?["connections"]?.arrayValue ?? []).filter { c in
                    (c["database_sockets"]?.arrayValue ?? []).contains { $0["database"] == "data" && $0["connected"] == true }
                }.compactMap { $0["name"]?.stringValue }
                if peers.isSubset(of: Set(up)) { break }
                guard Date() < deadline else { throw BenchError("\(node.name) did not connect to \(peers.sorted()) within 60 s (connected: \(up))") }
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
    }

    /// Creates `data.TABLE` on `origin` and waits until `followers` have it.
    func createTable(_ table: String, on origin: ClusterNode, followers: [ClusterNode]) throws {
        try origin.node.operation(["operation": "create_table", "database": "data", "table": .string(table), "primary_key": "id"])
        try waitApplied(from: origin, by: followers)
    }

    /// Waits until `followers` applied `origin`'s log through its newest entry; returns when
    /// the last of them got there.
    @discardableResult
    func waitApplied(from origin: ClusterNode, by followers: [ClusterNode], timeout: Double = applyTimeout) throws -> Date {
        let newest = try origin.newestSequence()
        var last = Date.distantPast
        for f in followers { last = max(last, try f.waitForCursor(of: origin.name, atLeast: newest, timeout: timeout)) }
        return last
    }

    /// Inserts `records` records into `table` through `origin`'s gateway, in loads of at
    /// most the benchmark's size (so request bodies stay bounded in memory); returns how
    /// many were written (whole rounds of `clients` batches).
    @discardableResult
    func fill(_ table: String, records: Int, batch: Int, on origin: ClusterNode, label: String) throws -> Int {
        var done = 0
        while done < records {
            let part = InsertLoad(records: min(records - done, load.totalRecords), clients: load.clients, batch: batch)
            let run = try part.throughGateway("\(label) \(done / 1000)k+", node: origin.node, table: table, firstID: done)
            guard run.failedClients == 0 else { throw BenchError("loading \(table) failed") }
            done += part.totalRecords
        }
        return done
    }
}
