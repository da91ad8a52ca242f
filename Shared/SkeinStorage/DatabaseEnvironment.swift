import Foundation
import SkeinCore
import SkeinLMDB

/// One database: its LMDB environment, schema catalog, tables and audit log.
///
/// Opened for writing by `store` (which then opens every table's handles up front, so
/// reader threads never call `mdb_dbi_open`) and for reading/pruning by `auditd`.
public final class DatabaseEnvironment: @unchecked Sendable {
    public let name: String
    /// The largest audit entry a write may produce (`ReplicationLimits.maxEntryBytes`; tests lower it).
    public var maxEntryBytes = ReplicationLimits.maxEntryBytes
    /// Attributes one table may have (`storage.maxAttributesPerTable`): each indexed one is
    /// an LMDB database of its own, and an environment holds a bounded number (review F15).
    public var maxAttributes = TableSchema.defaultMaxAttributes
    /// The node's clock (`DatabaseRegistry.clock`): reads leave out records expired by it.
    public var clock = WallClock()
    public let lmdb: LMDBEnvironment
    public let schemaDB: LMDBDatabase
    public let metaDB: LMDBDatabase
    public let auditDB: LMDBDatabase
    /// `IndexBacklog`.
    public let backlogDB: LMDBDatabase
    /// Inode of data.mdb when opened: a dropped and re-created database has a new one.
    public let inode: UInt64
    /// The log's identity (`StorageLayout.logIDKey`), carried in replication's `hello` and
    /// stored with every peer's cursor.
    public let logID: String

    /// The secondary indexes (`IndexEnvironment`); nil where this process does not search
    /// (auditd).
    public let indexes: IndexEnvironment?
    /// What the open group transaction appended to the log (`AppendedEntries`).
    let appendTap = AppendTap()

    public init(name: String, path: String, mapSize: UInt64, indexes withIndexes: Bool = true) throws {
        self.name = name
        lmdb = try LMDBEnvironment(path: path, mapSize: mapSize)
        indexes = withIndexes ? try IndexEnvironment(path: path + "/indexes", mapSize: mapSize) : nil
        (schemaDB, metaDB, auditDB, backlogDB, logID) = try lmdb.write { txn in
            let meta = try txn.database(StorageLayout.meta, create: true)!
            // Store and auditd may open a new environment at once: LMDB serialises the two
            // write transactions, so the second reads the identity the first chose.
            var id = try txn.get(meta, StorageLayout.logIDKey).map { String(decoding: $0, as: UTF8.self) }
            if id == nil {
                let chosen = Self.newLogID()
                try txn.put(meta, StorageLayout.logIDKey, Array(chosen.utf8))
                id = chosen
            }
            return (
                try txn.database(StorageLayout.schema, create: true)!, meta,
                try txn.database(StorageLayout.audit, create: true)!,
                try txn.database(StorageLayout.indexBacklog, create: true)!, id!
            )
        }
        inode = Self.inode(of: path)
    }

    /// 16 random hex digits.
    static func newLogID() -> String {
        let hex = String(UInt64.random(in: 1...UInt64.max), radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    static func inode(of path: String) -> UInt64 {
        var st = stat()
        guard stat(path + "/data.mdb", &st) == 0 else { return 0 }
        return UInt64(st.st_ino)
    }

    /// True when the directory now holds a different environment (dropped and re-created).
    public var isStale: Bool { Self.inode(of: lmdb.path) != inode }

    /// Opens every table's handles (writer thread, at startup).
    public func openAllTables() throws {
        try lmdb.write { txn in
            for table in try tables(txn) {
                _ = try txn.database(StorageLayout.records(table.name), create: true)
                _ = try txn.database(StorageLayout.tombstones(table.name), create: true)
            }
        }
    }

    // MARK: Schema

    public func table(_ txn: LMDBTransaction, _ table: String) throws -> TableSchema? {
        guard let bytes = try txn.get(schemaDB, Array(table.utf8)) else { return nil }
        return TableSchema(json: try JSON.parse(bytes))
    }

    public func tables(_ txn: LMDBTransaction) throws -> [TableSchema] {
        let cursor = try txn.cursor(schemaDB)
        var out: [TableSchema] = []
        var entry = try cursor.first()
        while let (_, v) = entry {
            if let t = TableSchema(json: try JSON.parse(v)) { out.append(t) }
            entry = try cursor.next()
        }
        return out
    }

    public func putTable(_ txn: LMDBTransaction, _ schema: TableSchema) throws {
        try txn.put(schemaDB, Array(schema.name.utf8), schema.catalogJSON.serialized())
    }

    /// A handle for reading: only handles this process already opened (see type doc).
    public func readHandle(_ txn: LMDBTransaction, _ name: String) throws -> LMDBDatabase? {
        if let h = lmdb.cached(name, in: txn) { return h }
        return nil
    }

    // MARK: Audit log

    public func lastSequence(_ txn: LMDBTransaction) throws -> UInt64 {
        guard let b = try txn.get(metaDB, StorageLayout.sequenceKey) else { return 0 }
        return KeyCodec.decodeUInt64(b)
    }

    /// Appends an entry with the next sequence number; returns that number.
    @discardableResult
    public func appendAudit(_ txn: LMDBTransaction, _ entry: AuditEntry) throws -> UInt64 {
        try appendAudit(txn) { seq in
            var e = entry
            e.sequence = seq
            return e.json.serialized()
        }
    }

    /// Appends the entry `encode(sequence)` returns, under the next sequence number.
    @discardableResult
    public func appendAudit(_ txn: LMDBTransaction, encode: (UInt64) -> [UInt8]) throws -> UInt64 {
        let seq = try lastSequence(txn) + 1
        let bytes = encode(seq)
        try txn.put(auditDB, KeyCodec.encodeUInt64(seq), bytes, append: true)
        try txn.put(metaDB, StorageLayout.sequenceKey, KeyCodec.encodeUInt64(seq))
        appendTap.record(seq, bytes)
        return seq
    }

    /// Starts keeping what is appended to the log (the store's writer, with each group
    /// transaction): `appendedMark`, `rewindAppended` and `takeAppended` follow it.
    public func tapAppends() { appendTap.start() }
    /// How many entries were kept so far: where `rewindAppended` goes back to.
    public func appendedMark() -> Int { appendTap.mark() }
    /// Forgets the entries kept after `mark` (their child transaction aborted).
    public func rewindAppended(to mark: Int) { appendTap.rewind(to: mark) }
    /// What was kept, and stops keeping: call it before the commit, publish after it.
    public func takeAppended() -> AppendedEntries? { appendTap.take() }

    /// Entries with sequence >= `from`, in order, at most `limit`, and no more stored bytes
    /// than `maxBytes` (but always at least one entry).
    public func auditEntries(_ txn: LMDBTransaction, from: UInt64, limit: Int, maxBytes: Int = .max) throws -> [AuditEntry] {
        let cursor = try txn.cursor(auditDB)
        var out: [AuditEntry] = []
        var bytes = 0
        var entry = try cursor.seek(KeyCodec.encodeUInt64(from))
        while let (_, v) = entry, out.count < limit {
            bytes += v.count
            if bytes > maxBytes, !out.isEmpty { break }
            if let e = AuditEntry(json: try JSON.parse(v)) { out.append(e) }
            entry = try cursor.next()
        }
        return out
    }

    /// What a log reader positioned at `from` gets next: the entries from there on, stopping
    /// before a hole. Sequences are written gap-free, so a missing one was deleted
    /// (`delete_audit_logs_before` removes one table's entries anywhere in the log):
    /// `missing` is then true and the reader cannot stream past it without a full copy.
    public struct LogRead: Sendable {
        public var entries: [AuditEntry]
        /// The position after the last entry returned.
        public var next: UInt64
        public var missing: Bool
    }

    /// `maxBytes` bounds the stored size of what one read returns (a replication batch must
    /// fit a message however many records each entry holds). At most `limit` entries are
    /// looked at; with `origins`, the others are skipped unparsed (`next` still covers them).
    public func readLog(_ txn: LMDBTransaction, from: UInt64, limit: Int, maxBytes: Int = .max, origins: Set<String>? = nil) throws -> LogRead {
        let raw = try readStoredLog(txn, from: from, limit: limit, maxBytes: maxBytes, origins: origins)
        var out = LogRead(entries: [], next: raw.next, missing: raw.missing)
        for bytes in raw.entries {
            if let e = AuditEntry(json: try JSON.parse(bytes)) { out.entries.append(e) }
        }
        return out
    }

    /// `readLog` with the entries as stored (their bytes, unparsed): a publisher's auditd
    /// passes them on as they are. Every entry returned is of `origins` (one whose origin
    /// cannot be read from its bytes is parsed to tell).
    public func readStoredLog(_ txn: LMDBTransaction, from: UInt64, limit: Int, maxBytes: Int = .max,
                              origins: Set<String>? = nil) throws -> (entries: [[UInt8]], next: UInt64, missing: Bool) {
        var out: (entries: [[UInt8]], next: UInt64, missing: Bool) = ([], from, false)
        let newest = try lastSequence(txn)
        let cursor = try txn.cursor(auditDB)
        var bytes = 0, looked = 0
        var item = try cursor.seek(KeyCodec.encodeUInt64(from))
        while let (k, v) = item, looked < limit {
            let sequence = KeyCodec.decodeUInt64(k)
            if sequence != out.next {
                // Entries before the hole go out first; the hole is reported at its start.
                out.missing = out.next == from
                return out
            }
            looked += 1
            if let origins, let origin = try AuditEntry.origin(ofStored: v) ?? AuditEntry(json: JSON.parse(v))?.origin,
               !origins.contains(origin) {
                out.next = sequence + 1
                item = try cursor.next()
                continue
            }
            bytes += v.count
            if bytes > maxBytes, !out.entries.isEmpty { break }
            out.entries.append(v)
            out.next = sequence + 1
            item = try cursor.next()
        }
        // Everything up to the newest sequence should have been there.
        let retained = try retainedFrom(txn)
        if out.next == from && from <= newest && retained <= from { out.missing = true }
        return out
    }

    /// The oldest retained sequence (0 when the log is empty).
    public func oldestSequence(_ txn: LMDBTransaction) throws -> UInt64 {
        let cursor = try txn.cursor(auditDB)
        guard let (k, _) = try cursor.first() else { return 0 }
        return KeyCodec.decodeUInt64(k)
    }

    /// The first sequence a reader can still get: the oldest retained entry, or the next
    /// sequence when everything written was pruned. A reader positioned before it missed
    /// entries and needs a full copy.
    public func retainedFrom(_ txn: LMDBTransaction) throws -> UInt64 {
        let oldest = try oldestSequence(txn)
        return oldest > 0 ? oldest : try lastSequence(txn) + 1
    }

    /// The newest version this database has seen, to seed the clock at startup: the stored
    /// high-water mark (every commit writes it), or the last audit entry's version for a
    /// database written before the mark existed.
    public func lastVersion(_ txn: LMDBTransaction) throws -> HLCTimestamp {
        var newest = try txn.get(metaDB, StorageLayout.clockKey).map { HLCTimestamp(rawValue: KeyCodec.decodeUInt64($0)) } ?? .zero
        let cursor = try txn.cursor(auditDB)
        if let (_, v) = try cursor.last(), let e = AuditEntry(json: try JSON.parse(v)), e.version > newest { newest = e.version }
        return newest
    }

    /// The clock's high-water mark as the last commit stored it (nil before the first).
    public func clockHighWater(_ txn: LMDBTransaction) throws -> HLCTimestamp? {
        try txn.get(metaDB, StorageLayout.clockKey).map { HLCTimestamp(rawValue: KeyCodec.decodeUInt64($0)) }
    }

    /// Records the clock's high-water mark in the caller's write transaction.
    public func setClockHighWater(_ txn: LMDBTransaction, _ version: HLCTimestamp) throws {
        try txn.put(metaDB, StorageLayout.clockKey, KeyCodec.encodeUInt64(version.rawValue))
    }
}
