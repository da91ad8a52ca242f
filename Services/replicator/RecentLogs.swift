import CoreMetrics
import SkeinCore
import SkeinReplication
import SkeinService

/// The store's commit feed as this replicator's publishers read it: one `RecentLog` per
/// database that a connected peer streams (a database nobody streams keeps nothing), and the
/// publishers to wake when one of them grows.
final class RecentLogs: Sendable {
    private struct State {
        var logs: [String: RecentLog] = [:]
        var watchers: [String: [ObjectIdentifier: Wakeup]] = [:]
    }

    private let state = Locked(State())
    private let fromFeed = Counter(label: "skein_replicator_log_reads_total", dimensions: [("source", "feed")])
    private let fromAuditd = Counter(label: "skein_replicator_log_reads_total", dimensions: [("source", "auditd")])

    /// A commit from the feed (on the feed's thread).
    func received(_ commit: CommitFeed.Commit) {
        let woken = state.withLock { s -> [Wakeup] in
            guard let watchers = s.watchers[commit.database], !watchers.isEmpty else { return [] }
            s.logs[commit.database, default: RecentLog()].receive(log: commit.log, from: commit.from, clock: commit.clock,
                                                                 entries: commit.entries)
            return Array(watchers.values)
        }
        for w in woken { w.fire() }
    }

    /// `wakeup` fires whenever `database` grows, until `unwatch`.
    func watch(_ database: String, _ wakeup: Wakeup) {
        state.withLock { $0.watchers[database, default: [:]][ObjectIdentifier(wakeup)] = wakeup }
    }

    func unwatch(_ database: String, _ wakeup: Wakeup) {
        state.withLock { s in
            s.watchers[database]?[ObjectIdentifier(wakeup)] = nil
            if s.watchers[database]?.isEmpty == true {
                s.watchers[database] = nil
                s.logs[database] = nil
            }
        }
    }

    func read(_ database: String, log: String, from: UInt64, origins: Set<String>?, max: Int, maxBytes: Int, oldest: UInt64) -> RecentLog.Read {
        let read = state.withLock { s in
            s.logs[database]?.read(from: from, log: log, origins: origins, max: max, maxBytes: maxBytes, oldest: oldest) ?? .notHeld
        }
        if case .served = read { fromFeed.increment() }
        return read
    }

    /// A log read that went to auditd (counted beside the feed's).
    func readThroughAuditd() { fromAuditd.increment() }
}
