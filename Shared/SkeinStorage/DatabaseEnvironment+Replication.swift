import SkeinCore
import SkeinLMDB
import SkeinReplication

/// Applying what peers send: audit entries (streaming) and table rows (full copy). Every
/// record is merged by last-write-wins against its current version (record or tombstone),
/// so re-delivery changes nothing and order does not matter. Only changes that won are
/// logged, with their origin and version kept, so nothing is logged twice.
extension DatabaseEnvironment {
    static func cursorKey(_ peer: String) -> [UInt8] { Array("cursor:\(peer)".utf8) }

    /// The last sequence of `peer`'s log applied here (0: none).
    public func cursor(_ txn: LMDBTransaction, peer: String) throws -> UInt64 {
        try txn.get(metaDB, Self.cursorKey(peer)).map { KeyCodec.decodeUInt64($0) } ?? 0
    }

    /// Every peer's cursor in this database: none means this node never synced it from anyone.
    public func cursors(_ txn: LMDBTransaction) throws -> [String: UInt64] {
        let prefix = Array("cursor:".utf8)
        var found: [String: UInt64] = [:]
        let cursor = try txn.cursor(metaDB)
        var entry = cursor.seek(prefix)
        while let (k, v) = entry, k.starts(with: prefix) {
            found[String(decoding: k.dropFirst(prefix.count), as: UTF8.self)] = KeyCodec.decodeUInt64(v)
            entry = cursor.next()
        }
        return found
    }

    public func setCursor(_ txn: LMDBTransaction, peer: String, _ value: UInt64) throws {
        try txn.put(metaDB, Self.cursorKey(peer), KeyCodec.encodeUInt64(value))
    }

    /// The current version of a record or its tombstone.
    func currentVersion(_ txn: LMDBTransaction, _ table: ReplicaTable, _ key: [UInt8]) throws -> (RecordVersion?, StoredRecord?) {
        if let bytes = try txn.get(table.records, key), let r = StoredRecord.decode(bytes) {
            return (RecordVersion(version: r.version, origin: r.origin), r)
        }
        if let t = try txn.get(table.tombstones, key), t.count >= 8 {
            return (RecordVersion(version: HLCTimestamp(rawValue: KeyCodec.decodeUInt64(t[0..<8])),
                                  origin: String(decoding: t[8...], as: UTF8.self)), nil)
        }
        return (nil, nil)
    }

    /// Applies entries from `peer` whose sequence is past the stored cursor, then moves the
    /// cursor to `through`, in the caller's transaction. Returns how many records changed.
    public func applyReplicated(_ txn: LMDBTransaction, peer: String, entries: [AuditEntry], through: UInt64) throws -> JSON {
        let cursor = try cursor(txn, peer: peer)
        guard through > cursor else { return ["applied": 0, "cursor": JSON(cursor), "duplicate": true] }
        var applied = 0
        for entry in entries where entry.sequence > cursor {
            if let schemaChange = try applySchema(txn, entry) {
                applied += schemaChange
                continue
            }
            applied += try applyWrites(txn, entry.writes, logAs: entry)
        }
        try setCursor(txn, peer: peer, through)
        return ["applied": JSON(applied), "cursor": JSON(through)]
    }

    /// Schema entries: tables and attributes appear everywhere; drops stay local (Harper)
    /// unless the drop said `replicated: true`. Returns nil for non-schema entries.
    func applySchema(_ txn: LMDBTransaction, _ entry: AuditEntry) throws -> Int? {
        let context = WriteContext(version: entry.version, origin: entry.origin, user: entry.user)
        switch entry.operation {
        case "create_table":
            guard try table(txn, entry.table) == nil, let schema = entry.details.flatMap(TableSchema.init(json:)) else { return 0 }
            _ = try createTable(txn, name: entry.table, primaryKey: schema.primaryKey, attributes: schema.attributes, context: context)
            return 1
        case "create_attribute":
            guard var schema = try table(txn, entry.table), let a = entry.details?["attribute"]?.stringValue,
                !schema.attributes.contains(a) else { return 0 }
            schema.attributes.append(a)
            _ = try txn.database(StorageLayout.index(entry.table, a), create: true, dupSort: true)
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

    /// Merges record changes by last-write-wins; logs the winners as one entry like `logAs`
    /// (its origin and version), or not at all when `logAs` is nil (a full copy).
    func applyWrites(_ txn: LMDBTransaction, _ writes: [ReplicatedWrite], logAs entry: AuditEntry?) throws -> Int {
        guard let first = writes.first else { return 0 }
        // A table dropped here (drops stay local) takes no more writes from peers: skipping
        // them keeps the rest of the stream flowing instead of failing every batch.
        guard let schema = try table(txn, first.table) else { return 0 }
        var replica = try ReplicaTable(self, txn, schema)
        var ids: [JSON] = [], values: [[UInt8]] = [], previous: [[UInt8]] = []
        for w in writes {
            guard let key = KeyCodec.encode(w.id) else { continue }
            let (current, old) = try currentVersion(txn, replica, key)
            guard LastWriterWins.wins(w.version, over: current) else { continue }
            let oldFields = old?.value.objectValue ?? [:]
            switch w.change {
            case .put(let value):
                let fields = value.objectValue ?? [:]
                let json = value.serialized()
                try txn.put(replica.records, key, StoredRecord.encode(version: w.version.version, origin: w.version.origin, json: json))
                try txn.delete(replica.tombstones, key)
                try replica.indexes.update(key: key, old: oldFields, new: fields, primaryKey: schema.primaryKey)
                replica.learn(fields.keys)
                values.append(json)
            case .delete:
                try txn.delete(replica.records, key)
                try replica.indexes.update(key: key, old: oldFields, new: [:], primaryKey: schema.primaryKey)
                var tomb = KeyCodec.encodeUInt64(w.version.version.rawValue)
                tomb.append(contentsOf: Array(w.version.origin.utf8.prefix(255)))
                try txn.put(replica.tombstones, key, tomb)
            }
            ids.append(w.id)
            previous.append(old.map { $0.value.serialized() } ?? Self.nullBytes)
        }
        try replica.save(txn, self)
        if let entry, !ids.isEmpty {
            try appendAudit(txn) { seq in
                AuditEntry.encode(sequence: seq, version: entry.version, origin: entry.origin, user: entry.user, operation: entry.operation,
                                  table: entry.table, ids: ids, recordBytes: values, previousBytes: previous, details: nil)
            }
        }
        return ids.count
    }

    // MARK: Full copy

    /// One page of a table for a full copy, in key order: records and tombstones with their
    /// versions, after `afterKey` (exclusive). Bounded memory: at most `limit` rows. With
    /// `sinceMillis` (a route's startTime), rows last written before it are left out of the
    /// page; `last` still moves past them.
    public func exportRows(_ txn: LMDBTransaction, table: String, after afterKey: JSON?, limit: Int,
                           sinceMillis: UInt64? = nil) throws -> (rows: [JSON], last: JSON?) {
        let schema = try requireTable(txn, table)
        var rows: [(key: [UInt8], row: JSON)] = []
        for (dbName, deleted) in [(StorageLayout.records(table), false), (StorageLayout.tombstones(table), true)] {
            guard let db = try readHandle(txn, dbName) else { continue }
            let cursor = try txn.cursor(db)
            let start = afterKey.flatMap(KeyCodec.encode)
            var entry = start.map { cursor.seek($0) } ?? cursor.first()
            if let start, let (k, _) = entry, k == start { entry = cursor.next() }
            var n = 0
            while let (k, v) = entry, n < limit {
                if deleted {
                    rows.append((k, ["id": KeyCodec.decode(k) ?? .null, "version": .string(String(KeyCodec.decodeUInt64(v.prefix(8)))),
                                     "origin": .string(String(decoding: v.dropFirst(8), as: UTF8.self)), "deleted": true]))
                } else if let r = StoredRecord.decode(v) {
                    rows.append((k, ["id": KeyCodec.decode(k) ?? .null, "version": .string(String(r.version.rawValue)),
                                     "origin": .string(r.origin), "record": r.value]))
                }
                n += 1
                entry = cursor.next()
            }
        }
        // Merge the two key-ordered runs and cut at `limit`, so pages never overlap.
        rows.sort { $0.key.lexicographicallyPrecedes($1.key) }
        let page = Array(rows.prefix(limit))
        _ = schema
        let last = page.count == limit ? page.last.flatMap { KeyCodec.decode($0.key) } : nil
        guard let sinceMillis else { return (page.map(\.row), last) }
        let kept = page.filter { row in
            guard let v = row.row["version"]?.stringValue.flatMap(UInt64.init) else { return true }
            return HLCTimestamp(rawValue: v).millis >= sinceMillis
        }
        return (kept.map(\.row), last)
    }

    /// Merges copied rows by last-write-wins. A copy never deletes a row that only this node
    /// has: only a tombstone newer than the local record removes it.
    public func importRows(_ txn: LMDBTransaction, table: String, rows: [JSON]) throws -> Int {
        let writes: [ReplicatedWrite] = rows.compactMap { row in
            guard let id = row["id"], let v = row["version"]?.stringValue.flatMap(UInt64.init), let origin = row["origin"]?.stringValue else { return nil }
            let version = RecordVersion(version: HLCTimestamp(rawValue: v), origin: origin)
            if row["deleted"]?.boolValue == true { return ReplicatedWrite(table: table, id: id, change: .delete, version: version) }
            guard let record = row["record"] else { return nil }
            return ReplicatedWrite(table: table, id: id, change: .put(record), version: version)
        }
        return try applyWrites(txn, writes, logAs: nil)
    }
}

/// The handles and schema of one table while replicated changes are merged into it.
struct ReplicaTable {
    var schema: TableSchema
    let records: LMDBDatabase
    let tombstones: LMDBDatabase
    var indexes: IndexWriter
    private var known: Set<String>
    private var grew = false

    init(_ env: DatabaseEnvironment, _ txn: LMDBTransaction, _ schema: TableSchema) throws {
        self.schema = schema
        records = try txn.database(StorageLayout.records(schema.name), create: true)!
        tombstones = try txn.database(StorageLayout.tombstones(schema.name), create: true)!
        indexes = IndexWriter(txn: txn, table: schema.name)
        known = Set(schema.attributes)
    }

    mutating func learn(_ attributes: Dictionary<String, JSON>.Keys) {
        for a in attributes where !known.contains(a) {
            known.insert(a)
            schema.attributes.append(a)
            grew = true
        }
    }

    func save(_ txn: LMDBTransaction, _ env: DatabaseEnvironment) throws {
        if grew { try env.putTable(txn, schema) }
    }
}
