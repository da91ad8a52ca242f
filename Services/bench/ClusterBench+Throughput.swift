import Foundation
import SkeinCore
import SkeinLauncher

extension ClusterBench {
    /// Phase 1: the foundation benchmark's gateway load on one node without replication.
    func singleNodeBaseline() throws -> Double {
        print("\n1. single-node baseline (no replicator)")
        let node = try BenchNode(port: try FreePort.on("127.0.0.1"))
        defer { node.shutdown() }
        try node.waitHealthy()
        try node.operation(["operation": "create_table", "database": "data", "table": "baseline", "primary_key": "id"])
        let cpu = CPUAccount(node.processes.mapValues(\.pid).merging(["bench": getpid()]) { $1 })
        let run = try load.throughGateway("gateway, one node", node: node, table: "baseline")
        guard run.failedClients == 0 else { throw BenchError("the single-node load failed") }
        figures.record(run)
        print(cpu.summary())
        return run.rate
    }

    /// Phase 2: the same load on node-a; the clock stops when node-b and node-c both applied
    /// node-a's log through its newest entry (their stores' `replication_cursor`, polled
    /// every 2 ms, against node-a's newest sequence from auditd).
    func replicatedThroughput(_ origin: ClusterNode, followers: [ClusterNode]) throws {
        print("\n2. replicated throughput (written on node-a, applied on node-b and node-c)")
        try createTable("throughput", on: origin, followers: followers)
        let cpu = cpuAccount()
        let run = try load.throughGateway("acknowledged by node-a", node: origin.node, table: "throughput")
        guard run.failedClients == 0 else { throw BenchError("the replicated load failed") }
        figures.record(run)
        let visible = try waitApplied(from: origin, by: followers)
        let seconds = visible.timeIntervalSince(run.started)
        report.replicatedRPS = Double(run.records) / seconds
        report.replicatedAckRPS = run.rate
        print(String(format: "%@ %10.0f records/s  (all %d on node-b and node-c %.2f s after the start, %.2f s after node-a's last ack)",
                     "applied on node-b and node-c".column as NSString, report.replicatedRPS, run.records, seconds, visible.timeIntervalSince(run.finished)))
        print(cpu.summary())
    }
}
