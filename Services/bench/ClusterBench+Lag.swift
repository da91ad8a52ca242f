import Foundation
import SkeinBenchPlots
import SkeinCore

extension ClusterBench {
    /// Phase 3: replication lag at half the replicated throughput (or `lag-rate` records/s),
    /// a paced load of `lag-seconds` on node-a. The lag of a write (one insert batch, one
    /// audit entry) is when node-b's commit of it was announced minus when node-a's was:
    /// both stores publish a notice after each durable commit, received here on one
    /// monotonic clock; node-a's entry and node-b's are matched by the HLC version node-b
    /// keeps (its audit `ts` is node-a's clock, not when node-b committed).
    func replicationLag(_ origin: ClusterNode, _ follower: ClusterNode, followers: [ClusterNode]) throws {
        let rate = options["lag-rate"]! > 0 ? Double(options["lag-rate"]!) : report.replicatedRPS / 2
        let seconds = Double(options["lag-seconds"]!)
        print(String(format: "\n3. replication lag node-a → node-b at %.0f records/s (%@) for %.0f s", rate,
                     (options["lag-rate"]! > 0 ? "--lag-rate" : "half the replicated throughput") as NSString, seconds))
        try createTable("lag", on: origin, followers: followers)
        let paced = InsertLoad(records: Int(rate * seconds), clients: load.clients, batch: load.batch)
        let originFrom = try origin.newestSequence() + 1, followerFrom = try follower.newestSequence() + 1
        let originCommits = try CommitTimeline(node: origin.node), followerCommits = try CommitTimeline(node: follower.node)
        defer { originCommits.stop(); followerCommits.stop() }
        Thread.sleep(forTimeInterval: 0.5)  // the notice subscriptions connect (ZeroMQ drops notices before that)
        let cpu = cpuAccount()
        let run = try paced.throughGateway("paced writes on node-a", node: origin.node, table: "lag", requestsPerSecond: rate / Double(load.batch))
        guard run.failedClients == 0 else { throw BenchError("the paced load failed") }
        try waitApplied(from: origin, by: [follower])
        print(cpu.summary())
        Thread.sleep(forTimeInterval: 0.2)  // the last notices arrive

        let committedOnOrigin = try versions(origin, from: originFrom, origin: origin.name, table: "lag")
        let appliedOnFollower = try versions(follower, from: followerFrom, origin: origin.name, table: "lag")
        var lags: [Double] = []
        for (version, seq) in committedOnOrigin {
            guard let followerSeq = appliedOnFollower[version], let t0 = originCommits.committed(seq),
                let t1 = followerCommits.committed(followerSeq) else { continue }
            lags.append(Double(Int64(t1) - Int64(t0)) / 1e6)
        }
        guard !lags.isEmpty else { throw BenchError("no commit notices matched: cannot measure the lag") }
        lags.sort()
        figures.record(run)
        figures.add(.lagDistribution(name: "cluster-lag", title: String(format: "replication lag node-a commit → node-b commit at %.0f records/s", run.rate),
                                     lagsMillis: lags))
        report.lagRateRPS = run.rate
        report.lagSamples = lags.count
        report.lagWrites = committedOnOrigin.count
        report.lagP50 = Self.percentile(lags, 0.50)
        report.lagP99 = Self.percentile(lags, 0.99)
        report.lagMax = lags.last!
        print(String(format: "%@ p50 %.2f ms  p99 %.2f ms  max %.2f ms  (%d of %d writes matched)", "lag node-a commit → node-b commit".column as NSString,
                     report.lagP50, report.lagP99, report.lagMax, lags.count, committedOnOrigin.count))
    }

    /// HLC version → sequence of the `table` insert entries that `origin` wrote, in `node`'s
    /// log from `from` on.
    func versions(_ node: ClusterNode, from: UInt64, origin: String, table: String) throws -> [UInt64: UInt64] {
        var out: [UInt64: UInt64] = [:]
        var next = from
        let newest = try node.newestSequence()
        while next <= newest {
            let entries = try node.auditEntries(from: next, max: 200)
            guard let last = entries.last else { break }
            for e in entries where e.origin == origin && e.table == table && e.operation == "insert" {
                out[e.version.rawValue] = e.sequence
            }
            next = last.sequence + 1
        }
        return out
    }

    /// Nearest-rank percentile of sorted values.
    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        sorted[max(0, min(sorted.count - 1, Int((p * Double(sorted.count)).rounded(.up)) - 1))]
    }
}
