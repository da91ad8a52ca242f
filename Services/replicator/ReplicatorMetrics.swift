import CoreMetrics
import Dispatch
import SkeinCore

/// How old replicated writes are when they pass a stage of the path on this node: from
/// the write's version (its origin's clock) to now here, one observation per entry. Where
/// replication lag accumulates: the origin's store commits it (`skein_store_commit_age_seconds`),
/// the publisher sends it (`sent`), the subscriber reads it off the socket (`received`),
/// takes it to apply once the apply before it finished (`taken`), and has it durable in
/// its store (`applied`). Across machines the ages include the clocks' offset.
struct EntryAges: Sendable {
    enum Stage: String, CaseIterable, Sendable { case sent, received, taken, applied }
    static let label = "skein_replicator_entry_age_seconds"
    private let timers: [Stage: CoreMetrics.Timer]

    init(peer: String, database: String, stages: [Stage]) {
        var timers: [Stage: CoreMetrics.Timer] = [:]
        for stage in stages {
            timers[stage] = CoreMetrics.Timer(label: Self.label, dimensions: [("stage", stage.rawValue), ("peer", peer), ("database", database)])
        }
        self.timers = timers
    }

    func record(_ stage: Stage, _ entries: [AuditEntry], nowMillis: UInt64) {
        guard let timer = timers[stage] else { return }
        for e in entries {
            if let age = HLCTimestamp.ageMillis(versionMillis: e.version.millis, now: nowMillis) { timer.recordMilliseconds(age) }
        }
    }

    func destroy() { for timer in timers.values { timer.destroy() } }
}

/// One subscriber link's metrics (this node pulling a peer's log of one database), made
/// once per link so a batch costs atomic adds, not registry look-ups.
struct SubscriberMetrics: Sendable {
    private let batches: Counter
    private let joined: Counter
    private let bytes: Counter
    private let apply: CoreMetrics.Timer
    private let lag: Gauge
    private let connected: Gauge
    let ages: EntryAges

    init(peer: String, database: String) {
        let labels = [("peer", peer), ("database", database)]
        batches = Counter(label: "skein_replicator_batches_received_total", dimensions: labels)
        joined = Counter(label: "skein_replicator_batches_joined_total", dimensions: labels)
        bytes = Counter(label: "skein_replicator_received_bytes_total", dimensions: labels)
        apply = CoreMetrics.Timer(label: "skein_replicator_apply_duration_seconds", dimensions: labels)
        lag = Gauge(label: "skein_replicator_lag_seconds", dimensions: labels)
        connected = Gauge(label: "skein_replicator_connected", dimensions: labels)
        ages = EntryAges(peer: peer, database: database, stages: [.received, .taken, .applied])
    }

    /// The link's series leave the scrape: its peer left `hdb_nodes`, or the database is no
    /// longer replicated (a link made again for them registers them anew).
    static func forget(peer: String, database: String) {
        let metrics = SubscriberMetrics(peer: peer, database: database)
        metrics.batches.destroy()
        metrics.joined.destroy()
        metrics.bytes.destroy()
        metrics.apply.destroy()
        metrics.lag.destroy()
        metrics.connected.destroy()
        metrics.ages.destroy()
    }

    /// Batches that queued up while the store applied were joined: `count` fewer applies.
    func joined(_ count: Int) { if count > 0 { joined.increment(by: count) } }

    /// A message arrived (any frame: batches, acks, copied rows).
    func received(bytes count: Int) { bytes.increment(by: count) }

    /// Applies a received batch through `body`, timing the store's commit of it.
    func applying<T>(_ body: () async throws -> T) async rethrows -> T {
        let started = DispatchTime.now().uptimeNanoseconds
        let result = try await body()
        apply.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
        batches.increment()
        return result
    }

    /// The link's state as `cluster_status` shows it: up or down, and the lag of the last
    /// applied write (peer's write time to apply here).
    func state(connected up: Bool, lagMillis: Int64?) {
        connected.record(up ? 1 : 0)
        if let lagMillis { lag.record(Double(lagMillis) / 1000) }
    }
}

/// What this node publishes to a subscribed peer. The peer is known only after its hello,
/// so the counters are found per batch (a registry look-up per batch, never per entry).
enum PublisherMetrics {
    /// A batch of `entries` went out (`bytes` on the wire) at `nowMillis`.
    static func sent(peer: String?, database: String, bytes: Int, entries: [AuditEntry], nowMillis: UInt64) {
        let labels = [("peer", peer ?? "-"), ("database", database)]
        Counter(label: "skein_replicator_batches_sent_total", dimensions: labels).increment()
        Counter(label: "skein_replicator_sent_bytes_total", dimensions: labels).increment(by: bytes)
        EntryAges(peer: peer ?? "-", database: database, stages: [.sent]).record(.sent, entries, nowMillis: nowMillis)
    }

    /// A batch with no entries went out: the peer's cursor passes entries it does not take
    /// from us (other origins'), or it learns our clock.
    static func sentEmpty(peer: String?, database: String) {
        Counter(label: "skein_replicator_empty_batches_sent_total", dimensions: [("peer", peer ?? "-"), ("database", database)]).increment()
    }
}
