import SkeinCore
import SkeinLMDB

/// Schema changes. Each runs inside the caller's write transaction and appends its audit
/// entry there, so a table and its audit record appear together or not at all.
extension DatabaseEnvironment {
    /// `indexed`: nil for a dynamic table (every attribute indexed), else the declared
    /// attributes to index.
    /// `limited`: refuse more attributes than `maxAttributes` (a peer's table is created as it is).
    public func createTable(_ txn: LMDBTransaction, name: String, primaryKey: String, attributes: [String], indexed: Set<String>? = nil,
                            types: [String: String] = [:], expiration: Double? = nil, audited: Bool = true, context: WriteContext,
                            limited: Bool = true) throws -> String {
        guard StorageLayout.isValidName(name) else {
            throw SkeinError.badRequest("invalid table name '\(name)': use letters, digits, '_' and '-' (at most 64)")
        }
        guard StorageLayout.isValidAttribute(primaryKey) else { throw SkeinError.badRequest("invalid primary_key '\(primaryKey)'") }
        if try table(txn, name) != nil {
            throw SkeinError.badRequest("Table '\(name)' already exists in '\(self.name)'")
        }
        var attrs = [primaryKey]
        for a in attributes + TableSchema.timestampAttributes where !attrs.contains(a) {
            guard StorageLayout.isValidAttribute(a) else { throw SkeinError.badRequest("invalid attribute name '\(a)'") }
            attrs.append(a)
        }
        for (attribute, type) in types where !TableSchema.knownTypes.contains(type) {
            throw SkeinError.badRequest("unknown type '\(type)' for attribute '\(attribute)': use one of \(TableSchema.knownTypes.sorted().joined(separator: ", "))")
        }
        var schema = TableSchema(database: self.name, name: name, primaryKey: primaryKey, attributes: attrs, createdTime: context.txnTime,
                                 indexed: indexed, types: types)
        schema.expiration = expiration
        schema.audit = audited
        if limited { try schema.checkAttributeCount(maxAttributes, database: self.name) }
        schema.storageID = Self.newStorageID()
        _ = try txn.database(StorageLayout.records(name), create: true)
        _ = try txn.database(StorageLayout.tombstones(name), create: true)
        try putTable(txn, schema)
        try audit(txn, context, operation: "create_table", table: name, details: schema.json)
        return "table '\(self.name).\(name)' successfully created."
    }

    /// Drops a table. The audit entry carries `{"replicated": true}` when peers must drop it
    /// too (`drop_table` with `replicated: true`); otherwise they keep their copy.
    public func dropTable(_ txn: LMDBTransaction, name: String, context: WriteContext, replicated: Bool = false) throws -> String {
        guard let schema = try table(txn, name) else { throw SkeinError.notFound("Table '\(self.name).\(name)' does not exist") }
        try discardIndexBacklog(txn, table: name)
        try noteIndexDrop(txn)
        // Its indexes go at the next catch-up (the worker drops indexes of tables gone).
        let names = [StorageLayout.records(name), StorageLayout.tombstones(name)]
        for n in names {
            if let db = try txn.database(n) { try txn.drop(db) }
        }
        try txn.delete(schemaDB, Array(name.utf8))
        try audit(txn, context, operation: "drop_table", table: name, details: replicated ? ["replicated": true] : nil)
        return "successfully deleted table '\(self.name).\(name)'"
    }

    public func createAttribute(_ txn: LMDBTransaction, table name: String, attribute: String, context: WriteContext) throws -> String {
        guard var schema = try table(txn, name) else { throw SkeinError.notFound("Table '\(self.name).\(name)' does not exist") }
        guard StorageLayout.isValidAttribute(attribute) else { throw SkeinError.badRequest("invalid attribute name '\(attribute)'") }
        if schema.attributes.contains(attribute) {
            throw SkeinError.badRequest("attribute '\(attribute)' already exists in \(self.name).\(name)")
        }
        schema.attributes.append(attribute)
        try schema.checkAttributeCount(maxAttributes, database: self.name)
        // An attribute created on purpose is indexed, in a declared table too.
        schema.indexed?.insert(attribute)
        try putTable(txn, schema)
        try audit(txn, context, operation: "create_attribute", table: name, details: ["attribute": .string(attribute)])
        return "attribute '\(self.name).\(name).\(attribute)' successfully created."
    }

    public func dropAttribute(_ txn: LMDBTransaction, table name: String, attribute: String, context: WriteContext) throws -> String {
        guard var schema = try table(txn, name) else { throw SkeinError.notFound("Table '\(self.name).\(name)' does not exist") }
        guard schema.attributes.contains(attribute) else {
            throw SkeinError.notFound("attribute '\(attribute)' does not exist in \(self.name).\(name)")
        }
        guard attribute != schema.primaryKey else { throw SkeinError.badRequest("cannot drop the primary key '\(attribute)'") }
        guard !TableSchema.timestampAttributes.contains(attribute) else { throw SkeinError.badRequest("cannot drop '\(attribute)'") }
        // The values go too (Harper's behaviour): rewrite every record without the field.
        let records = try txn.database(StorageLayout.records(name), create: true)!
        let cursor = try txn.cursor(records)
        var rewrites: [([UInt8], StoredRecord)] = []
        var entry = try cursor.first()
        while let (k, v) = entry {
            if var r = StoredRecord.decode(v), case .object(var fields) = r.value, fields[attribute] != nil {
                fields[attribute] = nil
                r.value = .object(fields)
                rewrites.append((k, r))
            }
            entry = try cursor.next()
        }
        for (k, r) in rewrites { try txn.put(records, k, r.encoded()) }
        // Its index goes at the next catch-up (the worker drops indexes of attributes gone).
        try noteIndexDrop(txn)
        schema.attributes.removeAll { $0 == attribute }
        try putTable(txn, schema)
        try audit(txn, context, operation: "drop_attribute", table: name, details: ["attribute": .string(attribute)])
        return "successfully deleted attribute '\(attribute)'"
    }

    /// Logs `create_database` in this (the system) database's log, so peers create it too
    /// and, replicating every database, subscribe to it.
    public func logDatabaseCreate(_ txn: LMDBTransaction, _ context: WriteContext, database: String) throws {
        try audit(txn, context, operation: "create_database", table: "", details: ["database": .string(database)])
    }

    /// Logs `drop_database` with `replicated: true` in this (the system) database's log, so
    /// peers drop theirs too: the dropped database's own log is gone with it.
    public func logDatabaseDrop(_ txn: LMDBTransaction, _ context: WriteContext, database: String) throws {
        try audit(txn, context, operation: "drop_database", table: "", details: ["database": .string(database), "replicated": true])
    }

    func audit(_ txn: LMDBTransaction, _ context: WriteContext, operation: String, table: String, details: JSON?,
               ids: [JSON] = [], records: [JSON] = [], previous: [JSON] = []) throws {
        guard context.auditEnabled else { return }
        let entry = AuditEntry(
            sequence: 0, version: context.version, origin: context.origin, user: context.user, operation: operation,
            table: table, ids: ids, records: records, previous: previous, details: details)
        try appendAudit(txn, entry)
    }
}
