import Foundation
import SkeinCore
import SkeinLMDB

/// Record writes: insert, update, upsert, delete, with secondary indexes, tombstones and
/// the audit entry, all in the caller's write transaction.
extension DatabaseEnvironment {
    /// `replace` (upsert only): an existing record's attributes not in the new one are
    /// dropped rather than kept (REST `PUT`); its creation time stays.
    public func write(_ txn: LMDBTransaction, table name: String, records: [JSON], mode: WriteMode, replace: Bool = false,
                      context: WriteContext) throws -> JSON {
        let incoming = records.map { record -> WriteRecord in
            if case .object(let fields) = record { return .object(RecordMembers(fields: fields)) }
            return .other(record)
        }
        return try write(txn, table: name, records: incoming, mode: mode, replace: replace, context: context)
    }

    /// `write` of records as a request brought them (`IncomingWrite`): a record is stored as
    /// its members' serialized values, with no tree built unless it merges into a stored one.
    public func write(_ txn: LMDBTransaction, table name: String, records: [WriteRecord], mode: WriteMode, replace: Bool = false,
                      context: WriteContext) throws -> JSON {
        guard var schema = try table(txn, name) else { throw SkeinError.notFound("Table '\(self.name).\(name)' does not exist") }
        let pk = schema.primaryKey
        // Validate everything before touching anything: a bad record rejects the request.
        var prepared: [(id: JSON, key: [UInt8], record: RecordMembers, generated: Bool)] = []
        prepared.reserveCapacity(records.count)
        // Records of a write mostly have the same members: names checked once per shape.
        var checkedNames: [String] = []
        for (i, incoming) in records.enumerated() {
            guard case .object(var record) = incoming else {
                if case .other(let value) = incoming { throw SkeinError.badRequest("records[\(i)] must be an object, got \(value.typeName)") }
                continue
            }
            var id = record.json(of: pk) ?? .null
            let generated = id.isNull
            if generated {
                guard mode != .update else { throw SkeinError.badRequest("records[\(i)] has no primary key '\(pk)': update needs it") }
                id = try newID(txn, schema)
            }
            guard id.isKeyScalar else {
                throw SkeinError.badRequest("records[\(i)].\(pk) must be a string or a number, got \(id.typeName)")
            }
            guard !KeyCodec.isTruncated(id), let key = KeyCodec.encode(id) else {
                throw SkeinError.badRequest("records[\(i)].\(pk) is longer than \(KeyCodec.maxKeyBytes) bytes")
            }
            if record.names != checkedNames {
                for attribute in record.names where !StorageLayout.isValidAttribute(attribute) {
                    throw SkeinError.badRequest("records[\(i)] has an invalid attribute name '\(attribute)'")
                }
                checkedNames = record.names
            }
            // A client's timestamps are not taken.
            if record.names.contains(where: { $0.utf8.first == UInt8(ascii: "_") && Self.timestamps.contains($0) }) {
                record = record.removing(Self.timestamps)
            }
            prepared.append((id, key, record, generated))
        }

        let recordsDB = try txn.database(StorageLayout.records(name), create: true)!
        let tombDB = try txn.database(StorageLayout.tombstones(name), create: true)!
        let indexes = IndexWriter(txn: txn, schema: schema, backlog: backlogDB)
        var known = Set(schema.attributes)
        /// Harper's `new_attributes`: what this write added to the table (the timestamps are
        /// Skein's own bookkeeping, never a client's attribute).
        var added: [String] = []
        // Most tables have no tombstones: then there is nothing to clear per record.
        let hasTombstones = try txn.count(tombDB) > 0
        var written: [JSON] = [], skipped: [JSON] = [], newValues: [[UInt8]] = [], previous: [[UInt8]] = []
        var entryBytes = 0
        let now = JSON.number(context.txnTime)
        // The members of the last record found all known: the next with the same needs no look-up.
        var knownNames: [String] = []
        // Every attribute name the records hold, in the order a reader of the records meets
        // them first (`AuditEntry.recordAttributes`: peers learn them from the entry).
        var entryNames: [String] = [], entryNameSet = Set<String>()
        var shape: (names: [String], overriding: Int) = ([], -1)

        for item in prepared {
            let existingBytes = try txn.get(recordsDB, item.key)
            // An expired record is gone for writes too (Harper): inserted over, not updated.
            let existing = existingBytes.flatMap(StoredRecord.decode).flatMap { schema.isExpired($0.version, now: context.version.millis) ? nil : $0 }
            // The record's members, with its timestamps (and a generated key) put in their
            // place as it is serialized; a tree only when it merges into a stored record.
            var record = item.record
            var overriding: [(key: String, value: JSON)]
            switch (mode, existing) {
            case (.insert, .some), (.update, .none):
                skipped.append(item.id)
                continue
            case (.insert, .none), (.upsert, .none):
                overriding = [("__createdtime__", now), ("__updatedtime__", now)]
            case (.upsert, .some(let old)) where replace:
                overriding = [("__createdtime__", old.value["__createdtime__"] ?? now), ("__updatedtime__", now)]
            case (.update, .some(let old)), (.upsert, .some(let old)):
                var value = old.value.objectValue ?? [:]
                for (k, v) in item.record.fields { value[k] = v }
                overriding = value["__createdtime__"].map { [("__createdtime__", $0), ("__updatedtime__", now)] } ?? [("__updatedtime__", now)]
                record = RecordMembers(fields: value)
            }
            if item.generated {
                overriding.append((pk, item.id))
                overriding.sort { $0.key < $1.key }
            }
            let json = record.serialized(overriding: overriding)
            let names = record.names
            if names != shape.names || overriding.count != shape.overriding {
                for name in (names + overriding.map(\.key)).sorted() where entryNameSet.insert(name).inserted { entryNames.append(name) }
                shape = (names, overriding.count)
            }
            try txn.put(recordsDB, item.key, StoredRecord.encode(version: context.version, origin: context.origin, json: json))
            if hasTombstones { try txn.delete(tombDB, item.key) }
            // Sorted: a record's new attributes join the table in a stable order.
            var fresh: [String] = []
            if names != knownNames {
                for k in names where !known.contains(k) { fresh.append(k) }
                knownNames = names
            }
            for t in overriding where !known.contains(t.key) { fresh.append(t.key) }
            for attribute in Set(fresh).sorted() {
                known.insert(attribute)
                schema.attributes.append(attribute)
                if !TableSchema.timestampAttributes.contains(attribute) { added.append(attribute) }
            }
            if schema.attributes.count > maxAttributes { try schema.checkAttributeCount(maxAttributes, database: self.name) }
            try indexes.change(key: item.key, previous: existingBytes.flatMap(StoredRecord.jsonBytes))
            written.append(item.id)
            newValues.append(json)
            entryBytes += json.count
            // The audit entry carries every record after the write: one that no replication
            // message could carry would stall every peer's stream. Nothing is written.
            if entryBytes > maxEntryBytes {
                throw SkeinError.tooLarge("this write's records would be \(entryBytes) bytes or more after it, over the \(maxEntryBytes) bytes one replication message carries: write fewer or smaller records")
            }
            previous.append(existingBytes.flatMap(StoredRecord.jsonBytes).map(Array.init) ?? Self.nullBytes)
        }

        if !written.isEmpty {
            schema.lastUpdated = context.txnTime
            try putTable(txn, schema)
            if context.auditEnabled && schema.audit {
                try appendAudit(txn) { seq in
                    AuditEntry.encode(sequence: seq, version: context.version, origin: context.origin, user: context.user, operation: mode.rawValue,
                                      table: name, ids: written, recordBytes: newValues, previousBytes: previous,
                                      details: schema.recordEntryDetails.adding(AuditEntry.recordAttributesKey, JSON(entryNames)))
                }
            }
        }
        let total = prepared.count
        var reply: [String: JSON]
        switch mode {
        case .insert:
            reply = ["message": .string("inserted \(written.count) of \(total) records"), "inserted_hashes": .array(written),
                     "skipped_hashes": .array(skipped), "txn_time": now]
        case .update:
            reply = ["message": .string("updated \(written.count) of \(total) records"), "update_hashes": .array(written),
                     "skipped_hashes": .array(skipped), "txn_time": now]
        case .upsert:
            reply = ["message": .string("upserted \(written.count) of \(total) records"), "upserted_hashes": .array(written), "txn_time": now]
        }
        // Harper answers `new_attributes` for dynamic tables only: a declared table's
        // attributes are its declaration.
        if schema.indexed == nil { reply["new_attributes"] = JSON(added) }
        return .object(reply)
    }

    static let nullBytes: [UInt8] = Array("null".utf8)

    /// The attributes a write sets itself (a client's are dropped).
    static let timestamps = Set(TableSchema.timestampAttributes)

    public func delete(_ txn: LMDBTransaction, table name: String, ids: [JSON], context: WriteContext) throws -> JSON {
        guard let schema = try table(txn, name) else { throw SkeinError.notFound("Table '\(self.name).\(name)' does not exist") }
        var keys: [(JSON, [UInt8])] = []
        for (i, id) in ids.enumerated() {
            guard id.isKeyScalar, let key = KeyCodec.encode(id) else {
                throw SkeinError.badRequest("ids[\(i)] must be a string or a number, got \(id.typeName)")
            }
            keys.append((id, key))
        }
        let recordsDB = try txn.database(StorageLayout.records(name), create: true)!
        let tombDB = try txn.database(StorageLayout.tombstones(name), create: true)!
        let indexes = IndexWriter(txn: txn, schema: schema, backlog: backlogDB)
        var deleted: [JSON] = [], skipped: [JSON] = [], previous: [JSON] = []
        for (id, key) in keys {
            guard let bytes = try txn.get(recordsDB, key), let old = StoredRecord.decode(bytes) else {
                skipped.append(id)
                continue
            }
            try txn.delete(recordsDB, key)
            try indexes.change(key: key, previous: StoredRecord.jsonBytes(bytes))
            // The tombstone keeps the delete's version so an older write cannot resurrect it.
            var tomb = KeyCodec.encodeUInt64(context.version.rawValue)
            tomb.append(contentsOf: Array(context.origin.utf8.prefix(255)))
            try txn.put(tombDB, key, tomb)
            deleted.append(id)
            previous.append(old.value)
        }
        if !deleted.isEmpty {
            var s = schema
            s.lastUpdated = context.txnTime
            try putTable(txn, s)
            if schema.audit {
                try audit(txn, context, operation: "delete", table: name, details: schema.recordEntryDetails,
                          ids: deleted, records: [], previous: previous)
            }
        }
        // Harper's wording: "1 of 1 record", "0 of 2 records" (the noun follows the total).
        let noun = keys.count == 1 ? "record" : "records"
        return ["message": .string("\(deleted.count) of \(keys.count) \(noun) successfully deleted"),
                "deleted_hashes": .array(deleted), "skipped_hashes": .array(skipped), "txn_time": .number(context.txnTime)]
    }
}

/// A table's secondary indexes (`IndexEnvironment`, value → primary key) as its writes and
/// catch-ups see them: which attributes are indexed, a record's index keys, and noting a
/// changed record in the backlog (`IndexBacklog`).
struct IndexWriter {
    let txn: LMDBTransaction
    let table: String
    let primaryKey: String
    let storageID: String?
    /// The declared indexes (nil: every attribute but the primary key).
    let indexed: Set<String>?
    /// Where changes are noted (nil: only reading keys, in a catch-up).
    let backlog: LMDBDatabase?
    /// The table's backlog key prefix.
    private let backlogPrefix: [UInt8]

    init(txn: LMDBTransaction, schema: TableSchema, backlog: LMDBDatabase? = nil) {
        self.txn = txn
        table = schema.name
        primaryKey = schema.primaryKey
        storageID = schema.storageID
        indexed = schema.indexed
        self.backlog = backlog
        backlogPrefix = backlog == nil ? [] : IndexBacklog.prefix(schema.name)
    }

    /// The record under `key` changes; `previous` is its JSON before (nil: there was none).
    func change(key: [UInt8], previous: ArraySlice<UInt8>?) throws {
        guard let backlog else { return }
        try IndexBacklog.note(txn, backlog, prefix: backlogPrefix, key: key, previous: previous)
    }

    /// Index keys of a value: a scalar gives one, an array one per scalar element.
    static func keys(_ value: JSON?) -> [[UInt8]] {
        value.map { IndexKeys.of($0, maxBytes: maxIndexKeyBytes) } ?? []
    }

    /// Index keys keep the first 64 bytes of an encoded value. A search looks up the same
    /// prefix and checks every candidate's full value, so a long text costs a few extra
    /// candidates, never a wrong answer; and the index of a text attribute is a few times
    /// smaller (a 250-byte text took a 270-byte entry).
    static let maxIndexKeyBytes = 64

    static func indexKey(_ encoded: [UInt8]) -> [UInt8] { IndexKeys.cut(encoded, maxIndexKeyBytes) }

    /// Whether `attribute` has an index here.
    func isIndexed(_ attribute: String) -> Bool {
        attribute != primaryKey && (indexed?.contains(attribute) ?? true)
    }

}
