/// A hybrid logical clock timestamp: physical milliseconds in the high 48 bits, a logical
/// counter in the low 16. Ordered as a plain integer, so versions compare with `<`.
public struct HLCTimestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(millis: UInt64, counter: UInt16) { self.rawValue = millis << 16 | UInt64(counter) }

    public var millis: UInt64 { rawValue >> 16 }
    public var counter: UInt16 { UInt16(truncatingIfNeeded: rawValue) }

    public static func < (a: HLCTimestamp, b: HLCTimestamp) -> Bool { a.rawValue < b.rawValue }
    public static let zero = HLCTimestamp(rawValue: 0)
    /// The version of records a node writes for itself when it first starts (the built-in
    /// roles, the first super user, route placeholders in `hdb_nodes`): lower than any real
    /// write, so whatever the cluster already has wins over a joining node's defaults.
    public static let bootstrap = HLCTimestamp(rawValue: 1)
    public var description: String { "\(millis).\(counter)" }

    /// How long before `now` (ms) a write stamped at `versionMillis` (a version's physical
    /// part) took its version: 0 when it is ahead (the clocks of two nodes differ); nil for a
    /// version with no physical time (`bootstrap`, `zero`: a node's defaults are written at
    /// no moment, and their "age" would be the time since 1970 in a lag histogram).
    public static func ageMillis(versionMillis: UInt64, now: UInt64) -> Int64? {
        guard versionMillis > 0 else { return nil }
        return Int64(now &- min(versionMillis, now))
    }
}

/// The clock every write is stamped with. Monotonic even if the wall clock steps back,
/// and advanced past every timestamp received from a peer (`receive`) so causality holds
/// across nodes with skewed clocks.
///
/// A plain value type driven by an injected physical time, so tests control the clock.
public struct HybridLogicalClock: Sendable {
    public private(set) var last: HLCTimestamp
    /// Received timestamps further ahead of our wall clock than this are accepted (so
    /// causality holds) but reported through `lastSkewMillis`.
    public var maxForwardSkewMillis: UInt64
    /// How far ahead of our physical clock the last received timestamp was (0 if not ahead).
    public private(set) var lastSkewMillis: UInt64 = 0

    public init(last: HLCTimestamp = .zero, maxForwardSkewMillis: UInt64 = 60_000) {
        self.last = last
        self.maxForwardSkewMillis = maxForwardSkewMillis
    }

    /// A new timestamp for a local event at physical time `now` (ms).
    public mutating func tick(now: UInt64) -> HLCTimestamp {
        let next: HLCTimestamp
        if now > last.millis {
            next = HLCTimestamp(millis: now, counter: 0)
        } else if last.counter == UInt16.max {
            next = HLCTimestamp(millis: last.millis + 1, counter: 0)
        } else {
            next = HLCTimestamp(millis: last.millis, counter: last.counter + 1)
        }
        last = next
        return next
    }

    /// Merges a timestamp seen on a message from a peer; returns the new local timestamp.
    @discardableResult
    public mutating func receive(_ remote: HLCTimestamp, now: UInt64) -> HLCTimestamp {
        lastSkewMillis = remote.millis > now ? remote.millis - now : 0
        let maxMillis = max(now, last.millis, remote.millis)
        let counter: UInt32
        if maxMillis == last.millis && maxMillis == remote.millis {
            counter = UInt32(max(last.counter, remote.counter)) + 1
        } else if maxMillis == last.millis {
            counter = UInt32(last.counter) + 1
        } else if maxMillis == remote.millis {
            counter = UInt32(remote.counter) + 1
        } else {
            counter = 0
        }
        let next = counter > UInt32(UInt16.max)
            ? HLCTimestamp(millis: maxMillis + 1, counter: 0)
            : HLCTimestamp(millis: maxMillis, counter: UInt16(counter))
        last = next
        return next
    }

    /// The one clock-skew rule (`replication.maxClockSkew`): how far a write stamped at
    /// `millis` is ahead of local time `now`, when that is more than `limit` (nil: within it).
    /// Such a write is neither applied nor observed: the replication link pauses, the store
    /// refuses it.
    public static func skew(of millis: UInt64, now: UInt64, limit: UInt64) -> UInt64? {
        millis > now + limit ? millis - now : nil
    }

    /// Whether the last received timestamp was ahead of us by more than the allowed skew.
    public var peerClockTooFarAhead: Bool { lastSkewMillis > maxForwardSkewMillis }
}
