import SkeinCore
import SkeinLMDB
import SkeinStorage

/// Read operations. They run on any thread, each in its own read transaction, and never
/// wait for the writer.
struct StoreReads {
    let registry: DatabaseRegistry

    func database(_ name: String) throws -> DatabaseEnvironment {
        guard let env = try registry.database(name) else { throw SkeinError.notFound("database '\(name)' does not exist") }
        return env
    }

    func handle(_ op: String, _ req: OperationRequest) throws -> JSON? {
        switch op {
        case "describe_all":
            var out: [String: JSON] = [:]
            for name in registry.names() where name != DatabaseRegistry.systemDatabase {
                out[name] = try describeDatabase(name)
            }
            return .object(out)
        case "describe_database", "describe_schema":
            return try describeDatabase(try req.database())
        case "describe_table":
            let env = try database(try req.database())
            let name = try req.table()
            return try env.lmdb.read { txn in try env.describe(txn, try env.requireTable(txn, name)) }
        case "search_by_id", "search_by_hash", "search_by_value", "search_by_conditions":
            guard let search = try searchPlan(op, req) else { return nil }
            return .array(try search.env.lmdb.read { txn in
                var cursor = try search.plan(txn)
                return try cursor.next(env: search.env, txn: txn)
            })
        default:
            return nil
        }
    }

    /// The operations whose results can be read page by page (`ResultPages`).
    static let pagedOperations: Set = ["search_by_id", "search_by_hash", "search_by_value", "search_by_conditions"]

    typealias SearchPlan = (env: DatabaseEnvironment, plan: (LMDBTransaction) throws -> SearchCursor)

    /// A search's database and how to plan it in a read transaction (the request is
    /// validated here, before any transaction).
    func searchPlan(_ op: String, _ req: OperationRequest) throws -> SearchPlan? {
        switch op {
        case "search_by_id", "search_by_hash":
            let env = try database(try req.database())
            let table = try req.table()
            let ids = try req.requiredArray("ids", aliases: ["hash_values"])
            let attributes = try req.attributes()
            return (env, {
                try env.checkAttributes($0, table: table, attributes ?? [])
                return try SearchCursor(env: env, txn: $0, table: table, ids: ids, attributes: attributes)
            })
        case "search_by_value":
            let env = try database(try req.database())
            let table = try req.table()
            // Harper's `search_attribute` wins over `attribute`; either may be a one-step path.
            guard let given = [req.body["search_attribute"], req.body["attribute"]].compactMap({ $0 }).first(where: { !$0.isNull }) else {
                throw SkeinError.badRequest("'attribute' is required")
            }
            let attribute = try AttributePath.name(given, path: "attribute")
            guard let value = req.body["value"] ?? req.body["search_value"] else { throw SkeinError.badRequest("'value' is required") }
            guard value.isKeyScalar || value.boolValue != nil || value.isNull else {
                throw SkeinError.badRequest("'value' must be a string, number, boolean or null")
            }
            var options = try Self.selecting(req)
            options.limit = try nonNegative(req, "limit")
            options.offset = try nonNegative(req, "offset") ?? 0
            let condition = SearchCondition.byValue(attribute: attribute, value: value)
            let named = (options.select?.checkedNames ?? []) + [attribute]
            return (env, {
                try env.checkAttributes($0, table: table, named)
                return try SearchCursor(env: env, txn: $0, table: table, condition: condition, options: options)
            })
        case "search_by_conditions":
            let env = try database(try req.database())
            let table = try req.table()
            let list = try req.requiredArray("conditions")
            var children: [SearchCondition] = []
            for (i, c) in list.enumerated() { children.append(try SearchCondition.parse(c, path: "conditions[\(i)]")) }
            let op = try SearchCondition.parseOperator(req.body["operator"], path: "request")
            var options = try Self.selecting(req)
            options.limit = try nonNegative(req, "limit")
            options.offset = try nonNegative(req, "offset") ?? 0
            var sortKeys = try Self.sortKeys(req.body["sort"])
            if !sortKeys.isEmpty {
                let first = sortKeys.removeFirst()
                options.sortAttribute = first.attribute
                options.sortDescending = first.descending
                options.thenBy = sortKeys
            }
            let condition = SearchCondition.group(op, children)
            let named = (options.select?.checkedNames ?? []) + condition.attributes
            return (env, {
                try env.checkAttributes($0, table: table, named)
                return try SearchCursor(env: env, txn: $0, table: table, condition: condition, options: options)
            })
        default:
            return nil
        }
    }

    /// Search options with `get_attributes` read as Harper's select list (`SelectList`).
    static func selecting(_ req: OperationRequest) throws -> DatabaseEnvironment.SearchOptions {
        var options = DatabaseEnvironment.SearchOptions()
        options.select = try SelectList.parse(req.requestedAttributes)
        options.attributes = options.select?.names
        return options
    }

    /// `sort {attribute, descending?, next?}`, Harper's multi-level sort, as a list of keys.
    static func sortKeys(_ sort: JSON?) throws -> [DatabaseEnvironment.SortKey] {
        var keys: [DatabaseEnvironment.SortKey] = []
        var level = sort, path = "sort"
        while let s = level, !s.isNull {
            let attribute = try Self.sortAttribute(s["attribute"], path: "\(path).attribute")
            var key = DatabaseEnvironment.SortKey(attribute: attribute)
            if let d = s["descending"], !d.isNull {
                guard let b = d.boolValue else { throw SkeinError.badRequest("'\(path).descending' must be a boolean") }
                key.descending = b
            }
            keys.append(key)
            level = s["next"]
            path += ".next"
        }
        return keys
    }

    /// A sort attribute: a name or a one-step path. Harper sorts by a longer path only
    /// into properties a schema declares (Table.ts `findAttribute`), which Skein's tables do
    /// not, and answers 404 `a.b is not a defined attribute`.
    static func sortAttribute(_ json: JSON?, path: String) throws -> String {
        if case .array(let steps) = json, steps.count > 1 {
            let dotted = steps.map { $0.stringValue ?? $0.text }.joined(separator: ".")
            throw SkeinError.notFound("\(dotted) is not a defined attribute")
        }
        guard json?.stringValue != nil || json?.arrayValue != nil else { throw SkeinError.badRequest("'\(path)' must be a string") }
        return try AttributePath.name(json, path: path)
    }

    func nonNegative(_ req: OperationRequest, _ key: String) throws -> Int? {
        guard let v = try req.int(key) else { return nil }
        guard v >= 0 else { throw SkeinError.badRequest("'\(key)' must not be negative") }
        return v
    }

    func describeDatabase(_ name: String) throws -> JSON {
        let env = try database(name)
        return try env.lmdb.read { txn in
            var out: [String: JSON] = [:]
            for t in try env.tables(txn) { out[t.name] = try env.describe(txn, t) }
            return .object(out)
        }
    }
}
