import CoreMetrics
import SkeinCore
import SkeinReplication
import SkeinService

/// The store's commit feed as this replicator's publishers read it: one `RecentLog` per
/// database that a connected peer streams (a database nobody streams keeps nothing), and the
/// publishers to wake when one of them grows with entries they send.
///
/// A publisher is woken only by a commit holding entries of the origins it streams: most
/// commits on a node of a full mesh are a peer's entries applied here, which the other
/// peers take from their origin. Waking for those sent each peer an empty batch (only its
/// cursor moved) and its ack back, per commit and link: on a 3-node cluster at 10,000
/// records/s about as many messages as the batches that carried entries.
final class RecentLogs: Sendable {
    private struct Watcher {
        let wakeup: Wakeup
        /// The origins its reads want (nil: any, until it reads).
        var origins: Set<String>?
    }

    private struct State {
        var logs: [String: RecentLog] = [:]
        var watchers: [String: [ObjectIdentifier: Watcher]] = [:]
    }

    private let state = Locked(State())
    private let fromFeed = Counter(label: "skein_replicator_log_reads_total", dimensions: [("source", "feed")])
    private let fromAuditd = Counter(label: "skein_replicator_log_reads_total", dimensions: [("source", "auditd")])

    /// A commit from the feed (on the feed's thread).
    func received(_ commit: CommitFeed.Commit) {
        let woken = state.withLock { s -> [Wakeup] in
            guard let watchers = s.watchers[commit.database], !watchers.isEmpty else { return [] }
            let follows = s.logs[commit.database, default: RecentLog()].receive(log: commit.log, from: commit.from, clock: commit.clock,
                                                                               entries: commit.entries)
            // A new run (a dropped commit, a new log) concerns every reader.
            let origins = follows ? s.logs[commit.database]?.origins(ofNewest: commit.entries.count) : nil
            return watchers.values.filter { RecentLog.concerns(origins, wanted: $0.origins) }.map(\.wakeup)
        }
        for w in woken { w.fire() }
    }

    /// `wakeup` fires whenever `database` grows with entries it wants (`wants`), until `unwatch`.
    func watch(_ database: String, _ wakeup: Wakeup) {
        state.withLock { $0.watchers[database, default: [:]][ObjectIdentifier(wakeup)] = Watcher(wakeup: wakeup, origins: nil) }
    }

    /// The origins `wakeup`'s reads of `database` want from now on.
    func wants(_ database: String, _ wakeup: Wakeup, origins: Set<String>) {
        state.withLock { $0.watchers[database]?[ObjectIdentifier(wakeup)]?.origins = origins }
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
