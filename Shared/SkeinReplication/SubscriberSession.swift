import SkeinCore

/// The subscriber's side of one connection. The cursor is the last publisher sequence
/// applied durably (stored by `store` in the same transaction as the applied entries), so
/// re-delivered batches are recognised and never applied twice.
public struct SubscriberSession: Sendable {
    public let origins: [String]
    /// A route's `startTime` (ms): nothing written before it is asked for.
    public let startTime: UInt64?
    public private(set) var cursor: UInt64
    /// Set when the publisher said our cursor is older than its log: a full copy is needed.
    public private(set) var needsCopy: UInt64?
    /// Re-send `subscribe` when nothing was heard for this long (a lost subscribe, a stalled
    /// stream); harmless when repeated, since the publisher restarts from our cursor.
    public let resubscribeAfterMillis: UInt64
    private var lastHeardMillis: UInt64 = 0
    /// When the cursor was last stored durably (the link stores empty batches' cursors
    /// only now and then).
    public var cursorSavedMillis: UInt64 = 0

    public init(cursor: UInt64, origins: [String], startTime: UInt64? = nil, resubscribeAfterMillis: UInt64 = 5000) {
        self.cursor = cursor
        self.origins = origins
        self.startTime = startTime
        self.resubscribeAfterMillis = resubscribeAfterMillis
    }

    /// Called periodically; returns a `subscribe` to send when the stream went quiet.
    public mutating func tick(now: UInt64) -> ReplicationMessage? {
        guard needsCopy == nil, now >= lastHeardMillis + resubscribeAfterMillis else { return nil }
        lastHeardMillis = now
        return subscribe
    }

    /// Records that the publisher is alive (any message from it).
    public mutating func heard(now: UInt64) { lastHeardMillis = now }

    /// The message that (re)starts the stream.
    public var subscribe: ReplicationMessage { .subscribe(from: cursor + 1, origins: origins, startTime: startTime) }

    /// The message that starts a full copy.
    public var copyBegin: ReplicationMessage { .copyBegin(startTime: startTime) }

    public enum Action: Sendable, Equatable {
        /// Apply these entries and move the cursor to `through`, atomically; then call
        /// `applied(through:)` and send its ack.
        case apply([AuditEntry], through: UInt64)
        /// Send this message (an ack for a duplicate, or a re-subscribe after a gap).
        case send(ReplicationMessage)
        /// The log we need was pruned: copy the tables, then stream from `resumeFrom`.
        case fullCopy(resumeFrom: UInt64)
        case none
    }

    public mutating func receive(_ message: ReplicationMessage) -> Action {
        switch message {
        case .batch(let from, let through, let entries, _):
            if through <= cursor { return .send(.ack(through: cursor)) }  // already applied
            if from > cursor + 1 { return .send(subscribe) }  // a gap: restart from our cursor
            return .apply(entries.filter { $0.sequence > cursor }, through: through)
        case .pruned(let oldest):
            needsCopy = oldest
            return .fullCopy(resumeFrom: oldest)
        case .subscribe, .ack, .copyBegin, .copyTables, .copyPage, .copyRows:
            return .none  // the copy frames are read by the copy itself
        }
    }

    /// The apply committed (with the cursor): acknowledge it.
    public mutating func applied(through: UInt64) -> ReplicationMessage {
        cursor = max(cursor, through)
        return .ack(through: cursor)
    }

    /// A full copy finished: stream from the position it was taken at.
    public mutating func copied(resumeFrom: UInt64) {
        cursor = resumeFrom > 0 ? resumeFrom - 1 : 0
        needsCopy = nil
    }

    /// After a restart the durable cursor is the truth.
    public mutating func restore(cursor: UInt64) { self.cursor = cursor }
}
