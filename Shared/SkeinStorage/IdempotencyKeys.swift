import SkeinCore
import SkeinLMDB

/// The results of writes sent with an idempotency key (the `Idempotency-Key` HTTP header),
/// kept for a window in the database the write went to and in the write's own transaction:
/// a retry after a lost reply finds the first attempt's result exactly when that attempt
/// committed, across gateway and store restarts. Keys are per node and per user.
///
/// `__idempotency`: `USER 0x00 KEY` → `[expires ms: 8][request hash: 8][reply JSON]`;
/// `__idempotency_expiry`: `[expires ms: 8] USER 0x00 KEY` → empty, for pruning in order.
public enum IdempotencyKeys {
    public static let results = "__idempotency"
    public static let expiry = "__idempotency_expiry"
    /// Expired keys dropped per keyed write: the table stays about rate × window.
    static let prunePerWrite = 16

    /// A request's key: who sent it, the key, and a hash of the request, so a key reused for
    /// a different request is refused instead of answered with another request's result.
    public struct Key: Sendable, Equatable {
        public let user: String
        public let key: String
        public let requestHash: UInt64

        /// `requestHash`: `IdempotencyHeader.requestHash` of the body the client sent.
        public init(user: String, key: String, requestHash: UInt64) {
            self.user = user
            self.key = key
            self.requestHash = requestHash
        }

        var bytes: [UInt8] { Array(user.utf8.prefix(255)) + [0] + Array(key.utf8) }
    }


    /// What an earlier request with this key left.
    public enum Earlier: Equatable {
        case none
        /// The same request committed: its reply.
        case result([UInt8])
        /// Another request used this key.
        case otherRequest
    }

    public static func earlier(_ txn: LMDBTransaction, _ key: Key, now: UInt64) throws -> Earlier {
        guard let db = try txn.database(results), let v = try txn.get(db, key.bytes), v.count >= 16 else { return .none }
        guard KeyCodec.decodeUInt64(v[0..<8]) > now else { return .none }  // expired, not pruned yet
        guard KeyCodec.decodeUInt64(v[8..<16]) == key.requestHash else { return .otherRequest }
        return .result(Array(v[16...]))
    }

    /// Keeps `reply` under `key` until `now + windowMillis`, and drops a few expired keys.
    public static func remember(_ txn: LMDBTransaction, _ key: Key, reply: [UInt8], now: UInt64, windowMillis: UInt64) throws {
        let db = try txn.database(results, create: true)!
        let byExpiry = try txn.database(expiry, create: true)!
        try prune(txn, now: now, limit: prunePerWrite)
        let k = key.bytes
        if let old = try txn.get(db, k), old.count >= 8 {
            _ = try txn.delete(byExpiry, Array(old[0..<8]) + k)
        }
        let expires = now + windowMillis
        try txn.put(db, k, KeyCodec.encodeUInt64(expires) + KeyCodec.encodeUInt64(key.requestHash) + reply)
        try txn.put(byExpiry, KeyCodec.encodeUInt64(expires) + k, [])
    }

    /// Drops up to `limit` keys whose window ended; returns how many.
    @discardableResult
    public static func prune(_ txn: LMDBTransaction, now: UInt64, limit: Int) throws -> Int {
        guard let db = try txn.database(results), let byExpiry = try txn.database(expiry) else { return 0 }
        let cursor = try txn.cursor(byExpiry)
        var dropped = 0
        while dropped < limit, let e = try cursor.first(), e.key.count >= 8, KeyCodec.decodeUInt64(e.key[0..<8]) <= now {
            try cursor.deleteCurrent()
            _ = try txn.delete(db, Array(e.key[8...]))
            dropped += 1
        }
        return dropped
    }
}
