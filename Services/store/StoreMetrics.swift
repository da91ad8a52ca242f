import CoreMetrics
import Dispatch
import SkeinCore
import SkeinLMDB
import SkeinService
import SkeinStorage

/// The store's metrics. Group commit is the hot path: it records once per group (a few
/// atomic adds and one histogram observation), never per write.
struct CommitMetrics: Sendable {
    private let commits = Counter(label: "skein_store_commits_total")
    private let groupSize = Recorder(label: "skein_store_group_size", aggregate: true)
    private let duration = CoreMetrics.Timer(label: "skein_store_group_commit_duration_seconds")
    private let holds = Counter(label: "skein_store_index_backlog_holds_total")
    private let commitAge = CoreMetrics.Timer(label: "skein_store_commit_age_seconds")

    /// Jobs per group: 1 when idle, up to `GroupBound`'s limit under load.
    static let groupSizeBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096]

    /// A group ran: `transactions` committed (one per database it wrote), `jobs` taken,
    /// `startedNanos` when it was taken (`DispatchTime` uptime).
    func group(transactions: Int, jobs: Int, startedNanos: UInt64) {
        if transactions > 0 { commits.increment(by: transactions) }
        groupSize.record(jobs)
        duration.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - startedNanos))
    }

    /// A group committed the writes of these versions (ms): how long each took from taking
    /// its version (its place in the group) to being durable, queueing included. The first
    /// stage of a write's replication lag (`skein_replicator_entry_age_seconds` the rest).
    func committed(versions: [UInt64], nowMillis: UInt64) {
        for v in versions {
            if let age = HLCTimestamp.ageMillis(versionMillis: v, now: nowMillis) { commitAge.recordMilliseconds(age) }
        }
    }

    /// A database's record writes began to wait for its index catch-ups (`IndexBacklogGate`).
    func heldForIndexes() { holds.increment() }
}

enum StoreMetrics {
    /// Bootstraps the store's metrics: LMDB map use of every database (data and index
    /// environments) and its index backlog, sampled at each scrape rather than tracked per
    /// write. A dropped database's series go with it.
    static func bootstrap(registry: DatabaseRegistry) -> ServiceMetrics {
        let metrics = ServiceMetrics.bootstrap(valueBuckets: ["skein_store_group_size": CommitMetrics.groupSizeBuckets])
        let sampled = Locked<Set<MapEnvironment>>([])
        metrics.onScrape {
            var seen: Set<MapEnvironment> = []
            for name in registry.names() {
                guard let env = try? registry.database(name) else { continue }
                for (kind, lmdb) in [("data", env.lmdb), ("indexes", env.indexes?.lmdb)] {
                    guard let use = lmdb?.mapUse() else { continue }
                    let environment = MapEnvironment(database: name, environment: kind)
                    seen.insert(environment)
                    environment.used.record(use.usedBytes)
                    environment.size.record(use.mapBytes)
                }
                if env.indexes != nil, let waiting = try? env.lmdb.read({ try env.indexBacklogCount($0) }) {
                    let environment = MapEnvironment(database: name, environment: "data")
                    environment.backlog.record(waiting)
                }
            }
            for gone in sampled.withLock({ last in defer { last = seen }; return last.subtracting(seen) }) {
                gone.used.destroy()
                gone.size.destroy()
                if gone.environment == "data" { gone.backlog.destroy() }
            }
        }
        return metrics
    }

    /// One LMDB environment's map-use series.
    private struct MapEnvironment: Hashable {
        let database: String
        let environment: String

        private var labels: [(String, String)] { [("database", database), ("environment", environment)] }
        var used: Gauge { Gauge(label: "skein_store_map_used_bytes", dimensions: labels) }
        var size: Gauge { Gauge(label: "skein_store_map_size_bytes", dimensions: labels) }
        /// Records waiting for an index catch-up (per database: labelled by it alone).
        var backlog: Gauge { Gauge(label: "skein_store_index_backlog_records", dimensions: [("database", database)]) }
    }
}
