import SkeinCore
import SkeinLMDB
import SkeinReplication

/// Eviction of expired records (`TableSchema+Expiration.swift`), a bounded step at a time so
/// that no transaction grows with the table: each step looks at up to `limit` records in key
/// order from where the last one stopped. An eviction is this node's own housekeeping, as in
/// Harper: no audit entry (nothing replicates) and no tombstone (a copy of the record that
/// arrives later is expired as well); its index entries go through the backlog like any
/// change.
extension DatabaseEnvironment {
    public struct EvictionStep: Sendable {
        public var evicted: Int
        /// Where the next step starts (after this key); nil when the scan reached the end.
        public var resumeAfter: [UInt8]?

        /// Nothing evicted, nothing more to look at.
        public static let end = EvictionStep(evicted: 0, resumeAfter: nil)
    }

    public func evictExpired(_ txn: LMDBTransaction, table name: String, after: [UInt8]?, now: UInt64, limit: Int) throws -> EvictionStep {
        guard let schema = try table(txn, name), schema.expirationMillis != nil,
              let recordsDB = try readHandle(txn, StorageLayout.records(name)) else { return .end }
        var expired: [(key: [UInt8], stored: [UInt8])] = []
        var looked = 0, last: [UInt8]? = nil
        let cursor = try txn.cursor(recordsDB)
        var entry = try after.map { key in try cursor.seek(key).flatMap { $0.key == key ? try cursor.next() : $0 } } ?? cursor.first()
        while let (key, stored) = entry, looked < limit {
            looked += 1
            last = key
            if let version = StoredRecord.version(stored), schema.isExpired(version.version, now: now) { expired.append((key, stored)) }
            entry = try cursor.next()
        }
        let indexes = IndexWriter(txn: txn, schema: schema, backlog: backlogDB)
        for (key, stored) in expired {
            try txn.delete(recordsDB, key)
            try indexes.change(key: key, previous: StoredRecord.jsonBytes(stored))
        }
        return EvictionStep(evicted: expired.count, resumeAfter: entry == nil ? nil : last)
    }
}
