/// Keeps each database's index backlog bounded. While `limit` records or more of a
/// database wait for an index catch-up, its record writes (clients' and peers' applies)
/// stay queued and the writer goes on with everything else, the catch-ups' settling among
/// it; they go ahead once a catch-up brings the backlog under the limit.
///
/// Why: the index worker runs beside the writer at a lower priority, and under a
/// sustained load it fell behind without end (a 60 s max-rate run on a 3-node cluster left
/// 740k records waiting on each node, growing by ~12k a second). An indexed search checks
/// every waiting record by value (~1 µs each), so its cost grew with the load's duration,
/// and the index work a load caused was only done after it. With the gate a write costs
/// its index work while the load runs, and a search at most `limit` extra checks.
///
/// A plain type, driven by the writer thread: `record` after each commit, `holds` when it
/// takes a group.
public struct IndexBacklogGate: Sendable {
    /// Records that may wait before writes do (nil: no limit, the backlog grows as it may).
    public let limit: Int?
    /// The longest a write waits. A catch-up that keeps failing (a full index
    /// environment) must not stop every write: past this, writes go ahead and the
    /// backlog grows as it did without a limit (the failure is in the log).
    public let maxWaitMillis: UInt64
    /// A write goes ahead this long before its caller's deadline at the latest, so it is
    /// written and answered in time (its caller stops waiting at the deadline).
    public let deadlineMarginMillis: UInt64
    /// Each database's backlog as of its last commit.
    private var backlog: [String: Int] = [:]
    /// The databases whose writes wait.
    public private(set) var held: Set<String> = []

    public init(limit: Int?, maxWaitMillis: UInt64 = 5_000, deadlineMarginMillis: UInt64 = 2_000) {
        self.limit = limit
        self.maxWaitMillis = maxWaitMillis
        self.deadlineMarginMillis = deadlineMarginMillis
    }

    /// Notes `database`'s backlog as of a commit. Returns true when its writes start to
    /// wait, false when they stop waiting, nil when that did not change.
    public mutating func record(_ database: String, backlog count: Int) -> Bool? {
        backlog[database] = count
        guard let limit else { return nil }
        if count >= limit { return held.insert(database).inserted ? true : nil }
        return held.remove(database) != nil ? false : nil
    }

    /// Forgets every database's backlog (a database was created or dropped: a new one of
    /// the same name starts with its own).
    public mutating func forgetAll() {
        backlog.removeAll()
        held.removeAll()
    }

    /// The backlog of `database` as of its last commit (nil: none noted since the start).
    public func backlog(of database: String) -> Int? { backlog[database] }

    /// Whether a write to `database` that has waited `waitedMillis` (a monotonic clock), its
    /// caller waiting `untilDeadline` ms more (nil: no deadline), waits on.
    public func holds(_ database: String, waitedMillis: UInt64, untilDeadline: UInt64?) -> Bool {
        guard held.contains(database) else { return false }
        if let untilDeadline, untilDeadline <= deadlineMarginMillis { return false }
        return waitedMillis < maxWaitMillis
    }
}
