import Foundation
import SkeinCore
import SkeinLMDB
import SkeinStorage

/// Turns a write request into a group-commit job. All request validation that does not
/// need the data happens here, before the job queues, so bad input never costs a commit.
struct StoreWrites {
    let registry: DatabaseRegistry

    typealias Body = (DatabaseEnvironment, LMDBTransaction, WriteContext) throws -> JSON

    enum Plan {
        case write(database: String, createDatabase: Bool, Body)
        case control((WriteContext) throws -> JSON)
    }

    /// `records`: an insert's, update's or upsert's records as `IncomingWrite` read them
    /// from the request's bytes (nil: taken from `req`).
    func plan(_ op: String, _ req: OperationRequest, records incoming: [WriteRecord]? = nil) throws -> Plan? {
        switch op {
        case "create_database", "create_schema":
            let name = try req.requiredString("database", aliases: ["schema"])
            guard name != DatabaseRegistry.systemDatabase else { throw SkeinError.badRequest("database 'system' is reserved") }
            return .control { context in
                let (_, created) = try registry.create(name)
                guard created else { throw SkeinError.badRequest("database '\(name)' already exists") }
                try logCreation(name, context)
                return ["message": .string("database '\(name)' successfully created")]
            }
        case "drop_database", "drop_schema":
            let name = try req.requiredString("database", aliases: ["schema"])
            guard name != DatabaseRegistry.systemDatabase else { throw SkeinError.badRequest("database 'system' cannot be dropped") }
            // Harper's rule: the drop stays here unless `replicated: true`; then it is logged in
            // the system database (the dropped database's own log goes with it) and peers
            // drop theirs when they apply that entry.
            let replicated = try req.bool("replicated") ?? false
            return .control { context in
                guard registry.exists(name) else { throw SkeinError.notFound("database '\(name)' does not exist") }
                if replicated, let system = try registry.database(DatabaseRegistry.systemDatabase) {
                    try system.lmdb.write { try system.logDatabaseDrop($0, context, database: name) }
                }
                try registry.drop(name)
                return ["message": .string("successfully deleted '\(name)'")]
            }
        case "create_table":
            let db = try req.database()
            try guardUserDatabase(db)
            let table = try req.table()
            let pk = try req.string("primary_key", aliases: ["hash_attribute"]) ?? "id"
            // Names (Skein's shorthand: a dynamic table, every attribute indexed) or Harper's
            // objects `{name, type?, indexed?}`: declared attributes, only those with
            // `indexed: true` get an index (fewer index writes per record).
            var attributes: [String] = []
            var indexed: Set<String>? = nil
            var types: [String: String] = [:]
            let expiration = try TableSchema.expiration(req.body["expiration"])
            let audit = try req.bool("audit") ?? true
            for (i, a) in (try req.array("attributes") ?? []).enumerated() {
                if let s = a.stringValue { attributes.append(s); continue }
                guard let s = (a["name"] ?? a["attribute"])?.stringValue else {
                    throw SkeinError.badRequest("'attributes[\(i)]' must be a name or an object with 'name'")
                }
                if let flag = a["indexed"], !flag.isNull, flag.boolValue == nil {
                    throw SkeinError.badRequest("'attributes[\(i)].indexed' must be true or false")
                }
                if let type = a["type"]?.nonNull {
                    guard let name = type.stringValue, TableSchema.knownTypes.contains(name) else {
                        throw SkeinError.badRequest("'attributes[\(i)].type' must be one of \(TableSchema.knownTypes.sorted().joined(separator: ", "))")
                    }
                    types[s] = name
                }
                attributes.append(s)
                if indexed == nil { indexed = [] }
                if a["indexed"]?.boolValue == true { indexed?.insert(s) }
            }
            // Checked before the job runs: a rejected create_table must not leave a new database behind.
            guard StorageLayout.isValidName(table) else {
                throw SkeinError.badRequest("invalid table name '\(table)': use letters, digits, '_' and '-' (at most 64)")
            }
            guard StorageLayout.isValidAttribute(pk) else { throw SkeinError.badRequest("invalid primary_key '\(pk)'") }
            for a in attributes where !StorageLayout.isValidAttribute(a) { throw SkeinError.badRequest("invalid attribute name '\(a)'") }
            // A table in a new database creates the database too, logged like create_database
            // (alone, as a control job: the system log and the new database in turn).
            guard registry.exists(db) else {
                return .control { context in
                    let (env, created) = try registry.create(db)
                    if created { try logCreation(db, context) }
                    return ["message": .string(try env.lmdb.write {
                        try env.createTable($0, name: table, primaryKey: pk, attributes: attributes, indexed: indexed, types: types,
                                           expiration: expiration, audited: audit, context: context)
                    })]
                }
            }
            return .write(database: db, createDatabase: true) { env, txn, ctx in
                ["message": .string(try env.createTable(txn, name: table, primaryKey: pk, attributes: attributes, indexed: indexed, types: types,
                                                        expiration: expiration, audited: audit, context: ctx))]
            }
        case "drop_table":
            let db = try req.database()
            try guardUserDatabase(db)
            let table = try req.table()
            // Harper's rule: a drop stays on this node unless the request says `replicated: true`.
            let replicated = try req.bool("replicated") ?? false
            return .write(database: db, createDatabase: false) { env, txn, ctx in
                ["message": .string(try env.dropTable(txn, name: table, context: ctx, replicated: replicated))]
            }
        case "create_attribute", "drop_attribute":
            let db = try req.database()
            try guardUserDatabase(db)
            let table = try req.table()
            let attribute = try req.requiredString("attribute")
            return .write(database: db, createDatabase: false) { env, txn, ctx in
                let m = op == "create_attribute"
                    ? try env.createAttribute(txn, table: table, attribute: attribute, context: ctx)
                    : try env.dropAttribute(txn, table: table, attribute: attribute, context: ctx)
                return ["message": .string(m)]
            }
        case "insert", "update", "upsert":
            let db = try req.database()
            try guardUserDatabase(db)
            let table = try req.table()
            let records = try incoming ?? req.requiredArray("records").map { record -> WriteRecord in
                if case .object(let fields) = record { return .object(RecordMembers(fields: fields)) }
                return .other(record)
            }
            let mode = WriteMode(rawValue: op)!
            let replace = mode == .upsert ? try req.bool("replace") ?? false : false
            // Harper answers a write to a missing database or table with 400, not 404
            // (integrationTests 2_dataLoad.mjs "Insert value into table that doesnt exist").
            guard registry.exists(db) else { throw SkeinError.badRequest("database '\(db)' does not exist") }
            return .write(database: db, createDatabase: false) { env, txn, ctx in
                guard try env.table(txn, table) != nil else { throw SkeinError.badRequest("Table '\(db).\(table)' does not exist") }
                return try env.write(txn, table: table, records: records, mode: mode, replace: replace, context: ctx)
            }
        case "delete":
            let db = try req.database()
            try guardUserDatabase(db)
            let table = try req.table()
            let ids = try req.requiredArray("ids", aliases: ["hash_values"])
            return .write(database: db, createDatabase: false) { env, txn, ctx in
                try env.delete(txn, table: table, ids: ids, context: ctx)
            }
        default:
            return nil
        }
    }

    /// The system database changes only through the user/role operations.
    func guardUserDatabase(_ db: String) throws {
        if db == DatabaseRegistry.systemDatabase {
            throw SkeinError.forbidden("database 'system' is changed only through user, role and cluster operations")
        }
        if !StorageLayout.isValidName(db) { throw SkeinError.badRequest("invalid database name '\(db)'") }
    }

    /// Logs a new database in the system log (peers create it when they apply the entry).
    func logCreation(_ name: String, _ context: WriteContext) throws {
        guard let system = try registry.database(DatabaseRegistry.systemDatabase) else { return }
        try system.lmdb.write { try system.logDatabaseCreate($0, context, database: name) }
    }
}
