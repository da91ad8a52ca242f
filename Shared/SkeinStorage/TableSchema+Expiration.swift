import SkeinCore

/// Harper's table TTL (`create_table` `expiration`, seconds): a record expires that long
/// after it was last written, the physical time of its version. Every node holds the same
/// versions (they replicate with the records), so every node expires a record at the same
/// moment by its own clock, and no delete needs to travel: an expired record is not
/// returned by any read, a write treats it as absent, and each node evicts it locally
/// (`evictExpired`), without an audit entry or a tombstone. A peer's copy of it arriving
/// later is just as expired, so it cannot come back.
extension TableSchema {
    /// The TTL in milliseconds, nil when records do not expire.
    public var expirationMillis: UInt64? {
        guard let expiration, expiration > 0 else { return nil }
        return UInt64((expiration * 1000).rounded())
    }

    /// Whether a record written at `version` has expired at `now` (ms).
    public func isExpired(_ version: HLCTimestamp, now: UInt64) -> Bool {
        guard let ttl = expirationMillis else { return false }
        return version.millis &+ ttl <= now
    }

    /// Harper's `describe_table` form: `"30s"`.
    var describedExpiration: JSON? {
        guard let expiration, expiration > 0 else { return nil }
        let whole = expiration.rounded() == expiration
        return .string((whole ? String(Int(expiration)) : String(expiration)) + "s")
    }

    /// `create_table`'s `expiration`: a number of seconds, 0 or null for none (Harper:
    /// `Expiration can not be negative`), or `describe_table`'s `"30s"` (how a full copy
    /// passes a table's description on).
    public static func expiration(_ value: JSON?) throws(SkeinError) -> Double? {
        guard let value = value?.nonNull else { return nil }
        let described = value.stringValue.flatMap { $0.hasSuffix("s") ? Double($0.dropLast()) : nil }
        guard let seconds = value.doubleValue ?? described, seconds.isFinite else {
            throw SkeinError.badRequest("'expiration' must be a number of seconds")
        }
        guard seconds >= 0 else { throw SkeinError.badRequest("Expiration can not be negative") }
        return seconds > 0 ? seconds : nil
    }
}
