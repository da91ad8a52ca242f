import SkeinCore

/// The subscriber's side of one connection. The cursor is the last publisher sequence
/// applied durably (stored by `store` in the same transaction as the applied entries), so
/// re-delivered batches are recognised and never applied twice. Pure: the caller passes
/// the time and does the I/O.
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
    /// How far ahead of local time an entry's version may be (`replication.maxClockSkew`).
    public let maxClockSkewMillis: UInt64
    /// Set while the stream waits for local time to reach an entry written too far ahead.
    public private(set) var paused: ClockSkewPause?
    private var lastHeardMillis: UInt64 = 0
    /// When the cursor was last stored durably (the link stores empty batches' cursors
    /// only now and then).
    public var cursorSavedMillis: UInt64 = 0

    /// An entry written by a clock too far ahead of ours: neither applied nor allowed to
    /// advance our clock until local time is within `maxClockSkew` of it.
    public struct ClockSkewPause: Sendable, Equatable {
        /// The entry's sequence and version time (ms).
        public let sequence: UInt64
        public let entryMillis: UInt64
        /// How far ahead of local time it was when it arrived.
        public let aheadMillis: UInt64
        /// Local time from which it may be applied.
        public let resumeAtMillis: UInt64
    }

    public init(cursor: UInt64, origins: [String], startTime: UInt64? = nil, resubscribeAfterMillis: UInt64 = 5000,
                maxClockSkewMillis: UInt64 = 60_000) {
        self.cursor = cursor
        self.origins = origins
        self.startTime = startTime
        self.resubscribeAfterMillis = resubscribeAfterMillis
        self.maxClockSkewMillis = maxClockSkewMillis
    }

    /// How a connection starts, once the peer said hello.
    public enum Start: Sendable, Equatable {
        /// Stream from the cursor.
        case subscribe
        /// This node never synced the database from anyone: a full copy from this peer.
        case firstSync
        /// The cursor cannot be trusted (it points into another log): a full copy that
        /// merges by last-write-wins (never deleting rows only this node has), then stream.
        case resync(reason: String)
    }

    /// Whether `start` needs to know if this node ever synced the database from anyone.
    public static func asksWhetherSynced(cursor: ReplicationCursor, peerLog: String?, startTime: UInt64?) -> Bool {
        cursor.sequence == 0 && startTime == nil && cursor.isInto(peerLog)
    }

    /// The start for a stored `cursor`, the peer's log identity from its hello, and whether
    /// this node ever applied any peer's entries of the database (`syncedFromAnyone`, only
    /// read when `asksWhetherSynced`).
    public static func start(cursor: ReplicationCursor, peerLog: String?, startTime: UInt64?, syncedFromAnyone: Bool) -> Start {
        if let ours = cursor.log, let peerLog, ours != peerLog {
            return .resync(reason: "the peer's log restarted (its log \(peerLog) is not the log \(ours) our cursor \(cursor.sequence) points into: the database was dropped and created again, or the node's data was replaced)")
        }
        if asksWhetherSynced(cursor: cursor, peerLog: peerLog, startTime: startTime), !syncedFromAnyone { return .firstSync }
        return .subscribe
    }

    /// Called periodically; returns a `subscribe` to send when the stream went quiet, or
    /// when a clock-skew pause is over.
    public mutating func tick(now: UInt64) -> ReplicationMessage? {
        if let pause = paused {
            guard now >= pause.resumeAtMillis else { return nil }
            paused = nil
            lastHeardMillis = now
            return subscribe
        }
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
        case fullCopy(resumeFrom: UInt64, reason: String?)
        /// The peer broke the protocol (entries of an origin we did not ask for, sequences
        /// out of order or outside the batch): close the connection and say why.
        case reject(String)
        case none
    }

    public mutating func receive(_ message: ReplicationMessage, now: UInt64) -> Action {
        switch message {
        case .batch(let from, let through, let entries, _, _):
            if let problem = Self.problem(from: from, through: through, entries: entries, origins: origins) { return .reject(problem) }
            if paused != nil { return .none }  // resubscribes when the pause is over
            if through <= cursor { return .send(.ack(through: cursor)) }  // already applied
            if from > cursor + 1 { return .send(subscribe) }  // a gap: restart from our cursor
            let fresh = entries.filter { $0.sequence > cursor }
            guard let ahead = fresh.firstIndex(where: { HybridLogicalClock.skew(of: $0.version.millis, now: now, limit: maxClockSkewMillis) != nil }) else {
                return .apply(fresh, through: through)
            }
            let entry = fresh[ahead]
            paused = ClockSkewPause(sequence: entry.sequence, entryMillis: entry.version.millis, aheadMillis: entry.version.millis - now,
                                    resumeAtMillis: entry.version.millis - maxClockSkewMillis)
            // What came before it is applied; the stream stops at it.
            let before = entry.sequence - 1
            return before > cursor ? .apply(Array(fresh[..<ahead]), through: before) : .none
        case .pruned(let oldest, let reason):
            needsCopy = oldest
            return .fullCopy(resumeFrom: oldest, reason: reason)
        case .subscribe, .ack, .frontier, .copyBegin, .copyTables, .copyPage, .copyRows, .recordCounts:
            return .none  // the copy frames are read by the copy itself, the counts by the machine
        }
    }

    /// What is wrong with a batch, if anything: every entry must be of an origin we asked
    /// for, and sequences must increase within `from...through`.
    static func problem(from: UInt64, through: UInt64, entries: [AuditEntry], origins: [String]) -> String? {
        guard from <= through || entries.isEmpty else { return "batch from \(from) through \(through) is not a range" }
        var previous: UInt64 = from > 0 ? from - 1 : 0
        for e in entries {
            guard origins.contains(e.origin) else {
                return "batch entry \(e.sequence) has origin \"\(e.origin)\", not one asked for (\(origins.joined(separator: ",")))"
            }
            guard e.sequence > previous, e.sequence <= through, e.sequence >= from else {
                return "batch \(from)...\(through) has entry \(e.sequence) out of order or outside the batch"
            }
            previous = e.sequence
        }
        return nil
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
