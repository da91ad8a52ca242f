import CoreMetrics
import Dispatch
import SkeinStorage

/// What replicators' log streams cost auditd: long polls that had to wait for a commit,
/// and entries sent. Recorded once per reply, not per entry.
struct StreamMetrics: Sendable {
    private let waits = Counter(label: "skein_auditd_stream_waits_total")
    private let replies = Counter(label: "skein_auditd_stream_replies_total")
    private let entries = Counter(label: "skein_auditd_streamed_entries_total")

    /// A caller was up to date and waits (long poll) for the next commit notice.
    func waited() { waits.increment() }

    func replied(entries count: Int) {
        replies.increment()
        if count > 0 { entries.increment(by: count) }
    }
}

/// Retention: entries pruned, and how long the last pass over every database took.
struct PruneMetrics: Sendable {
    private let pruned = Counter(label: "skein_auditd_pruned_entries_total")
    private let failures = Counter(label: "skein_auditd_prune_failures_total")
    private let lastDuration = Gauge(label: "skein_auditd_last_prune_duration_seconds")

    /// Runs `prune` (one pass over every database) and records what it did.
    func measure(_ prune: () -> [String: Result<AuditRetention.Outcome, any Error>]) -> [String: Result<AuditRetention.Outcome, any Error>] {
        let started = DispatchTime.now().uptimeNanoseconds
        let results = prune()
        lastDuration.record(Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
        for result in results.values {
            switch result {
            case .success(let outcome): if outcome.deleted > 0 { pruned.increment(by: outcome.deleted) }
            case .failure: failures.increment()
            }
        }
        return results
    }
}
