import SkeinCore
import SkeinLMDB
import SkeinReplication

/// The LMDB store as `ReplicaMerge` sees it, inside one write transaction: record versions
/// from the record or its tombstone, winners stored with their secondary indexes, new
/// attributes learned, winners logged as one audit entry keeping their origin and version.
struct LMDBReplica: ReplicaStore {
    let env: DatabaseEnvironment
    let txn: LMDBTransaction

    func table(_ name: String) throws -> LMDBReplicaTable? {
        guard let schema = try env.table(txn, name) else { return nil }
        return try LMDBReplicaTable(txn: txn, schema: schema, backlog: env.backlogDB, maxAttributes: env.maxAttributes)
    }

    func table(_ name: String, writtenBy entry: AuditEntry?) throws -> LMDBReplicaTable? {
        var table = try table(name)
        if let names = entry?.recordAttributes { table?.learnAll(names) }
        return table
    }

    /// Created as the origin declared it (`TableSchema+RecordEntry.swift`): TTL, declared
    /// attributes, indexes and types, so expiry and searches here match the origin's.
    func createTable(_ name: String, primaryKey: String, for entry: AuditEntry) throws {
        let declared = TableSchema(recordEntry: entry.details, database: env.name, name: name, primaryKey: primaryKey)
        _ = try env.createTable(txn, name: name, primaryKey: primaryKey, attributes: declared.attributes, indexed: declared.indexed,
                                types: declared.types, expiration: declared.expiration,
                                context: WriteContext(version: entry.version, origin: entry.origin, user: entry.user), limited: false)
    }

    func finish(_ table: LMDBReplicaTable, name: String, winners: [ReplicatedWrite], loggedAs entry: AuditEntry?) throws {
        if table.grew { try env.putTable(txn, table.schema) }
        guard let entry, !winners.isEmpty else { return }
        try env.appendAudit(txn) { seq in
            AuditEntry.encode(sequence: seq, version: entry.version, origin: entry.origin, user: entry.user, operation: entry.operation,
                              table: entry.table, ids: winners.map(\.id), recordBytes: table.values, previousBytes: table.previous,
                              details: table.schema.recordEntryDetails)
        }
    }

    func applySchema(_ entry: AuditEntry) throws -> Int? { try env.applySchema(txn, entry) }

    func cursor(peer: String) throws -> ReplicationCursor { try env.cursor(txn, peer: peer) }

    func setCursor(peer: String, _ cursor: ReplicationCursor) throws { try env.setCursor(txn, peer: peer, cursor) }
}

/// One table's handles while writes merge into it, and what the audit entry of the winners needs.
struct LMDBReplicaTable: ReplicaTable {
    private(set) var schema: TableSchema
    private let txn: LMDBTransaction
    private let records: LMDBDatabase
    private let tombstones: LMDBDatabase
    private let indexes: IndexWriter
    private var known: Set<String>
    /// Most tables have no tombstones: then no record needs one looked up or cleared.
    private var hasTombstones: Bool
    /// Member names of the records stored so far, read as bytes; those up to
    /// `namesLearned` went through `learn` (so each name is hashed once per batch, not per record).
    private var names = AttributePositions()
    private var namesLearned = 0
    /// The entry named every attribute its records hold (`learnAll`): no record's are read.
    private var namesGiven = false
    private(set) var grew = false
    /// The stored record found by the last `currentVersion` (the write that follows replaces it).
    private var looked: (key: [UInt8], stored: [UInt8]?)?
    /// Serialized new values (puts only) and previous values of the winners, in order.
    private(set) var values: [[UInt8]] = []
    private(set) var previous: [[UInt8]] = []

    /// A peer's records are stored whatever attributes they carry (refusing them would stop
    /// the stream), but past this many the table learns no more of them: those are not
    /// indexed here and searches on them scan.
    private let maxAttributes: Int

    init(txn: LMDBTransaction, schema: TableSchema, backlog: LMDBDatabase, maxAttributes: Int = TableSchema.defaultMaxAttributes) throws {
        self.txn = txn
        self.maxAttributes = maxAttributes
        self.schema = schema
        records = try txn.database(StorageLayout.records(schema.name), create: true)!
        tombstones = try txn.database(StorageLayout.tombstones(schema.name), create: true)!
        hasTombstones = try txn.count(tombstones) > 0
        indexes = IndexWriter(txn: txn, schema: schema, backlog: backlog)
        known = Set(schema.attributes)
    }

    mutating func currentVersion(of id: JSON) throws -> RecordVersion? {
        guard let key = KeyCodec.encode(id) else { return nil }
        if let bytes = try txn.get(records, key), let v = StoredRecord.version(bytes) {
            looked = (key, bytes)
            return v
        }
        looked = (key, nil)
        if hasTombstones, let t = try txn.get(tombstones, key), t.count >= 8 {
            return RecordVersion(version: HLCTimestamp(rawValue: KeyCodec.decodeUInt64(t[0..<8])), origin: String(decoding: t[8...], as: UTF8.self))
        }
        return nil
    }

    mutating func store(_ write: ReplicatedWrite) throws {
        guard let key = KeyCodec.encode(write.id) else { return }
        let stored = looked?.key == key ? looked?.stored : try txn.get(records, key)
        looked = nil
        let oldJSON = stored.flatMap(StoredRecord.jsonBytes)
        switch write.change {
        case .put(let value):
            try put(key, value.serialized(), previous: oldJSON, version: write.version)
            learn((value.objectValue ?? [:]).keys)
        case .putReceived(let bytes):
            let json = Array(bytes)
            try put(key, json, previous: oldJSON, version: write.version)
            guard !namesGiven else { break }
            try JSON.forEachMemberName(in: json) { name in
                let p = names.position(of: name, in: json)
                if p == namesLearned { learn(CollectionOfOne(names.names[p])); namesLearned += 1 }
            }
        case .delete:
            try txn.delete(records, key)
            try indexes.change(key: key, previous: oldJSON)
            var tomb = KeyCodec.encodeUInt64(write.version.version.rawValue)
            tomb.append(contentsOf: Array(write.version.origin.utf8.prefix(255)))
            try txn.put(tombstones, key, tomb)
            hasTombstones = true
        }
        previous.append(oldJSON.map(Array.init) ?? DatabaseEnvironment.nullBytes)
    }

    private mutating func put(_ key: [UInt8], _ json: [UInt8], previous oldJSON: ArraySlice<UInt8>?, version: RecordVersion) throws {
        try txn.put(records, key, StoredRecord.encode(version: version.version, origin: version.origin, json: json))
        if hasTombstones { try txn.delete(tombstones, key) }
        try indexes.change(key: key, previous: oldJSON)
        values.append(json)
    }

    /// The attribute names an entry says its records hold, in the order a reading of its
    /// records would meet them first (`AuditEntry.recordAttributes`).
    mutating func learnAll(_ names: [String]) {
        learn(names)
        namesGiven = true
    }

    /// Attributes a replicated record brings that the table did not list yet.
    private mutating func learn(_ names: some Sequence<String>) {
        for a in names where !known.contains(a) && schema.attributes.count < maxAttributes {
            known.insert(a)
            schema.attributes.append(a)
            grew = true
        }
    }
}
