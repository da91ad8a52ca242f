import SkeinCore
import SkeinLMDB
import SkeinReplication

/// Applying what peers send: audit entries (streaming) and table rows (full copy). Every
/// record is merged by last-write-wins against its current version (record or tombstone),
/// so re-delivery changes nothing and order does not matter. Only changes that won are
/// logged, with their origin and version kept, so nothing is logged twice.
extension DatabaseEnvironment {
    static func cursorKey(_ peer: String) -> [UInt8] { Array("cursor:\(peer)".utf8) }

    /// Stored as the sequence (8 bytes) followed by the log's identity (none for cursors
    /// stored before logs had one).
    static func decodeCursor(_ bytes: [UInt8]) -> ReplicationCursor {
        guard bytes.count >= 8 else { return .none }
        let log = bytes.count > 8 ? String(decoding: bytes[8...], as: UTF8.self) : nil
        return ReplicationCursor(sequence: KeyCodec.decodeUInt64(bytes[0..<8]), log: log)
    }

    /// How far `peer`'s log has been applied here (`.none`: nothing yet).
    public func cursor(_ txn: LMDBTransaction, peer: String) throws -> ReplicationCursor {
        try txn.get(metaDB, Self.cursorKey(peer)).map(Self.decodeCursor) ?? .none
    }

    /// Every peer's cursor in this database: none means this node never synced it from anyone.
    public func cursors(_ txn: LMDBTransaction) throws -> [String: ReplicationCursor] {
        let prefix = Array("cursor:".utf8)
        var found: [String: ReplicationCursor] = [:]
        let cursor = try txn.cursor(metaDB)
        var entry = try cursor.seek(prefix)
        while let (k, v) = entry, k.starts(with: prefix) {
            found[String(decoding: k.dropFirst(prefix.count), as: UTF8.self)] = Self.decodeCursor(v)
            entry = try cursor.next()
        }
        return found
    }

    public func setCursor(_ txn: LMDBTransaction, peer: String, _ value: ReplicationCursor) throws {
        var bytes = KeyCodec.encodeUInt64(value.sequence)
        if let log = value.log { bytes.append(contentsOf: Array(log.utf8)) }
        try txn.put(metaDB, Self.cursorKey(peer), bytes)
    }

    /// Applies entries of `peer`'s log `log` past the stored cursor and moves the cursor to
    /// `through`, in the caller's transaction (`ReplicaMerge.apply`: the rule the simulation runs).
    public func applyReplicated(_ txn: LMDBTransaction, peer: String, log: String? = nil, entries: [AuditEntry],
                                through: UInt64, restart: Bool = false) throws -> ReplicaMerge.Outcome {
        var replica = LMDBReplica(env: self, txn: txn)
        return try ReplicaMerge.apply(entries, from: peer, log: log, through: through, restart: restart, into: &replica)
    }

    /// Schema entries: tables and attributes appear everywhere; drops stay local (Harper)
    /// unless the drop said `replicated: true`. Returns nil for non-schema entries.
    func applySchema(_ txn: LMDBTransaction, _ entry: AuditEntry) throws -> Int? {
        let context = WriteContext(version: entry.version, origin: entry.origin, user: entry.user)
        switch entry.operation {
        case "create_table":
            guard try table(txn, entry.table) == nil, let schema = entry.details.flatMap(TableSchema.init(json:)) else { return 0 }
            _ = try createTable(txn, name: entry.table, primaryKey: schema.primaryKey, attributes: schema.attributes, indexed: schema.indexed,
                                types: schema.types, expiration: schema.expiration, audited: schema.audit,
                                context: context, limited: false)
            return 1
        case "create_attribute":
            guard var schema = try table(txn, entry.table), let a = entry.details?["attribute"]?.stringValue,
                !schema.attributes.contains(a) else { return 0 }
            schema.attributes.append(a)
            schema.indexed?.insert(a)
            try putTable(txn, schema)
            return 1
        case "drop_table":
            guard entry.details?["replicated"]?.boolValue == true, try table(txn, entry.table) != nil else { return 0 }
            _ = try dropTable(txn, name: entry.table, context: context, replicated: true)
            return 1
        case "drop_attribute":
            return 0
        default:
            return AuditEntry.recordOperations.contains(entry.operation) ? nil : 0
        }
    }

    // MARK: Full copy

    /// One page of a table for a full copy (`replication_export`): its rows as bytes, and the
    /// reply's body built from them without a tree (`{"rows":[...],"last":...,"oversized":[...]}`).
    public struct ExportedPage: Sendable {
        /// The rows as one JSON array (each in `ReplicatedWrite.copyRow`'s shape, the stored
        /// record spliced in), written once and sent as it is.
        public var rowArray: [UInt8] = [UInt8(ascii: "[")]
        public var count = 0
        public var last: JSON?
        public var oversized: [JSON] = []

        init(last: JSON?) { self.last = last }

        mutating func append(_ write: ReplicatedWrite) {
            if count > 0 { rowArray.append(UInt8(ascii: ",")) }
            write.writeCopyRow(into: &rowArray)
            count += 1
        }

        /// The rows parsed (for tests and callers that want trees).
        public var rows: [JSON] { (try? JSON.parse(rowArray + [UInt8(ascii: "]")])).flatMap(\.arrayValue) ?? [] }

        public var body: [UInt8] {
            var out: [UInt8] = Array(#"{"rows":"#.utf8)
            out.reserveCapacity(rowArray.count + 128)
            out.append(contentsOf: rowArray)
            out.append(contentsOf: #"],"last":"#.utf8)
            (last ?? .null).write(into: &out)
            out.append(contentsOf: #","oversized":"#.utf8)
            JSON.array(oversized).write(into: &out)
            out.append(UInt8(ascii: "}"))
            return out
        }
    }

    /// One page of a table for a full copy, in key order: records and tombstones with their
    /// versions, after `afterKey` (exclusive). Bounded memory: at most `limit` rows and about
    /// `maxBytes` of stored records (always at least one row), so a page of big rows still
    /// fits a replication message. A record larger than `maxRowBytes` cannot travel at all:
    /// it is left out and named in `oversized` (its id and size), never retried forever. With
    /// `sinceMillis` (a route's startTime), rows last written before it are left out of the
    /// page; `last` still moves past them. Records go out as the bytes stored, never parsed.
    public func exportRows(_ txn: LMDBTransaction, table: String, after afterKey: JSON?, limit: Int,
                           sinceMillis: UInt64? = nil, maxBytes: Int = .max,
                           maxRowBytes: Int = .max) throws -> ExportedPage {
        // An unaudited table's records stay on their node (`TableSchema.audit`): a copy
        // creates the table elsewhere, empty.
        guard try requireTable(txn, table).audit else { return ExportedPage(last: nil) }
        enum Row { case write(ReplicatedWrite), oversized(JSON) }
        var rows: [(key: [UInt8], row: Row, bytes: Int)] = []
        // The last key read by each run that stopped before its end: no row past the
        // smallest of them may go in this page (the other run's rows before it are unread).
        var bound: [UInt8]? = nil
        for (dbName, deleted) in [(StorageLayout.records(table), false), (StorageLayout.tombstones(table), true)] {
            guard let db = try readHandle(txn, dbName) else { continue }
            let cursor = try txn.cursor(db)
            let start = afterKey.flatMap(KeyCodec.encode)
            var entry = try start.map { try cursor.seek($0) } ?? cursor.first()
            if let start, let (k, _) = entry, k == start { entry = try cursor.next() }
            var n = 0, bytes = 0
            // Each run stops at the row count or the byte bound: the merged page is cut at
            // both below, and neither run can end before the page does.
            while let (k, v) = entry, n < limit, bytes < maxBytes {
                if deleted {
                    let version = RecordVersion(version: HLCTimestamp(rawValue: KeyCodec.decodeUInt64(v.prefix(8))),
                                                origin: String(decoding: v.dropFirst(8), as: UTF8.self))
                    rows.append((k, .write(ReplicatedWrite(table: table, id: KeyCodec.decode(k) ?? .null, change: .delete, version: version)), v.count))
                } else if v.count > maxRowBytes {
                    rows.append((k, .oversized(["id": KeyCodec.decode(k) ?? .null, "oversized": JSON(v.count)]), v.count))
                } else if let version = StoredRecord.version(v), let json = StoredRecord.jsonBytes(v) {
                    rows.append((k, .write(ReplicatedWrite(table: table, id: KeyCodec.decode(k) ?? .null, change: .putReceived(json), version: version)), v.count))
                }
                n += 1
                bytes += v.count
                entry = try cursor.next()
            }
            if entry != nil, let lastRead = rows.last?.key {
                if bound == nil || lastRead.lexicographicallyPrecedes(bound!) { bound = lastRead }
            }
        }
        // Merge the two key-ordered runs and cut at `limit` rows or `maxBytes`, so pages never overlap.
        rows.sort { $0.key.lexicographicallyPrecedes($1.key) }
        var count = 0, total = 0
        for r in rows {
            if let bound, bound.lexicographicallyPrecedes(r.key) { break }
            if count == limit || (count > 0 && total + r.bytes > maxBytes) { break }
            count += 1
            total += r.bytes
        }
        let page = rows[..<count]
        let full = bound != nil || count < rows.count
        var out = ExportedPage(last: full ? page.last.flatMap { KeyCodec.decode($0.key) } : nil)
        out.rowArray.reserveCapacity(total + 96 * count)
        for r in page {
            switch r.row {
            case .oversized(let named): out.oversized.append(named)
            case .write(let write):
                if let sinceMillis, write.version.version.millis < sinceMillis { continue }
                out.append(write)
            }
        }
        return out
    }

    /// Copied rows as writes (rows of `exportRows`).
    public static func copiedWrites(table: String, rows: [JSON]) -> [ReplicatedWrite] {
        ReplicatedWrite.fromCopyRows(table: table, rows: rows)
    }

    /// Merges copied rows by last-write-wins. A copy never deletes a row that only this node
    /// has: only a tombstone newer than the local record removes it. Copies are not logged.
    public func importRows(_ txn: LMDBTransaction, writes: [ReplicatedWrite]) throws -> Int {
        var replica = LMDBReplica(env: self, txn: txn)
        return try ReplicaMerge.merge(writes, into: &replica, loggedAs: nil)
    }

    public func importRows(_ txn: LMDBTransaction, table: String, rows: [JSON]) throws -> Int {
        try importRows(txn, writes: Self.copiedWrites(table: table, rows: rows))
    }
}

/// Tombstones: a delete keeps its version under the record's key so an older write that
/// arrives later cannot bring the record back; once no such write can arrive anywhere
/// (`TombstoneHorizon`), the replicator has them dropped.
extension DatabaseEnvironment {
    /// Deletes every tombstone of every table whose version is not newer than `through` (an
    /// HLC raw value), in the caller's write transaction; returns how many went.
    public func pruneTombstones(_ txn: LMDBTransaction, through: UInt64) throws -> Int {
        var pruned = 0
        for table in try tables(txn) {
            guard let db = try txn.database(StorageLayout.tombstones(table.name)), try txn.count(db) > 0 else { continue }
            let cursor = try txn.cursor(db)
            var entry = try cursor.first()
            while let (_, value) = entry {
                if value.count >= 8, KeyCodec.decodeUInt64(Array(value.prefix(8))) <= through {
                    try cursor.deleteCurrent()
                    pruned += 1
                    // MDB_NEXT after a delete moves to the entry that followed the deleted one.
                }
                entry = try cursor.next()
            }
        }
        return pruned
    }

    /// Whether any tombstone of any table is not newer than `through` (a read: the
    /// replicator's pruning asks every few seconds, and most of the time nothing is due).
    public func hasTombstones(_ txn: LMDBTransaction, through: UInt64) throws -> Bool {
        for table in try tables(txn) {
            guard let db = try readHandle(txn, StorageLayout.tombstones(table.name)), try txn.count(db) > 0 else { continue }
            let cursor = try txn.cursor(db)
            var entry = try cursor.first()
            while let (_, value) = entry {
                if value.count >= 8, KeyCodec.decodeUInt64(Array(value.prefix(8))) <= through { return true }
                entry = try cursor.next()
            }
        }
        return false
    }

    /// How many tombstones a table holds (`describe_table`'s `tombstone_count`).
    public func tombstoneCount(_ txn: LMDBTransaction, _ table: String) throws -> Int {
        guard let db = try readHandle(txn, StorageLayout.tombstones(table)) else { return 0 }
        return try txn.count(db)
    }
}
