import SkeinCore

/// The publisher's side of one connection: which part of its log to send next, with a
/// bounded number of unacknowledged batches (back-pressure) and go-back-N resending when
/// acknowledgements stop coming. Pure: the caller reads the log and moves the messages.
public struct PublisherSession: Sendable {
    public let maxInFlight: Int
    public let batchSize: Int
    /// Resend from the last acknowledged position when nothing was acknowledged for this long.
    public let resendAfterMillis: UInt64
    public private(set) var subscribed = false
    public private(set) var origins: Set<String> = []
    /// The subscriber's `startTime`: entries whose version is older are skipped.
    public private(set) var startTime: UInt64?
    /// Next sequence to read from the log.
    public private(set) var next: UInt64 = 1
    /// Highest sequence the subscriber acknowledged.
    public private(set) var acknowledged: UInt64 = 0
    /// `through` of every batch sent and not yet acknowledged.
    public private(set) var inFlight: [UInt64] = []
    private var lastProgressMillis: UInt64 = 0

    public init(maxInFlight: Int = 4, batchSize: Int = 500, resendAfterMillis: UInt64 = 2000) {
        self.maxInFlight = maxInFlight
        self.batchSize = batchSize
        self.resendAfterMillis = resendAfterMillis
    }

    public var canSend: Bool { subscribed && inFlight.count < maxInFlight }

    /// Handles a subscriber message. Returns a message to send back, if any. `newest`: the
    /// log's last sequence (nil when the database does not exist here).
    public mutating func receive(_ message: ReplicationMessage, now: UInt64, oldestRetained: UInt64, newest: UInt64? = nil) -> ReplicationMessage? {
        switch message {
        case .subscribe(let from, let origins, let startTime):
            subscribed = true
            self.origins = Set(origins)
            self.startTime = startTime
            inFlight.removeAll()
            lastProgressMillis = now
            acknowledged = from > 0 ? from - 1 : 0
            next = max(from, 1)
            if oldestRetained > 0 && next < oldestRetained {
                subscribed = false
                return .pruned(oldest: oldestRetained)
            }
            if let newest, next > newest + 1 {
                // The subscriber has applied more of this log than it holds: the log went
                // back (restored from a backup). Streaming on would skip what is written next.
                subscribed = false
                return .pruned(oldest: oldestRetained, reason: "the subscriber's position \(next - 1) is past the end of this log (\(newest)): restored from a backup?")
            }
            return nil
        case .ack(let through):
            if through > acknowledged {
                acknowledged = through
                lastProgressMillis = now
            }
            inFlight.removeAll { $0 <= through }
            return nil
        case .batch, .pruned, .copyBegin, .copyTables, .copyPage, .copyRows, .frontier, .recordCounts:
            return nil  // the copy frames and the frontier are the machine's
        }
    }

    /// The next batch from `log` (entries with sequence >= `next`, in order, as many as the
    /// log returns), or nil when nothing is due. `newest` is the log's last sequence, so a
    /// run of entries of other origins still advances the subscriber. `readThrough`: the
    /// last sequence the reader looked at, when it already left out entries of other
    /// origins (the batch covers them). `clock`: the publisher's clock high-water mark read
    /// with the log, sent only on a batch that reaches `newest`.
    public mutating func nextBatch(log: [AuditEntry], newest: UInt64, now: UInt64, readThrough: UInt64? = nil, clock: UInt64? = nil) -> ReplicationMessage? {
        guard canSend, next <= newest else { return nil }
        let through = min(newest, readThrough ?? log.last?.sequence ?? newest, next + UInt64(batchSize) - 1)
        guard through >= next else { return nil }
        let entries = log.filter { $0.sequence >= next && $0.sequence <= through && wanted($0) }
        let message = ReplicationMessage.batch(from: next, through: through, entries: entries, newest: newest, clock: through == newest ? clock : nil)
        if inFlight.isEmpty { lastProgressMillis = now }
        inFlight.append(through)
        next = through + 1
        return message
    }

    /// An entry the subscriber asked for: one of its origins, not older than its start time
    /// (schema changes always pass: records written since need their table).
    func wanted(_ entry: AuditEntry) -> Bool {
        guard origins.contains(entry.origin) else { return false }
        guard let startTime, AuditEntry.recordOperations.contains(entry.operation) else { return true }
        return entry.version.millis >= startTime
    }

    /// Called periodically: when acknowledgements stalled, rewind to resend (go-back-N).
    public mutating func tick(now: UInt64) {
        guard subscribed, !inFlight.isEmpty, now >= lastProgressMillis + resendAfterMillis else { return }
        inFlight.removeAll()
        next = acknowledged + 1
        lastProgressMillis = now
    }

    /// The connection closed: nothing is in flight any more.
    public mutating func disconnected() {
        subscribed = false
        inFlight.removeAll()
    }
}
