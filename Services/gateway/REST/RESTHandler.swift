import SkeinCore
import SkeinService

/// What a REST request turns into.
struct RESTReply: Sendable {
    var status: Int
    var body: [UInt8] = []
    var contentType: String? = "application/json"
    var location: String?
    var paged: PagedResult?
}

/// REST requests as the store's operations (search_by_id, search_by_conditions, insert,
/// upsert, delete), authorized by `OperationsHandler` with the caller's role and sent as
/// the caller, so REST writes are audited and replicated like any other.
struct RESTHandler: Sendable {
    let operations: OperationsHandler
    let exports: RESTExports

    /// A table the path names, as the store describes it.
    struct Table: Sendable {
        let database: String
        let name: String
        let primaryKey: String
        let attributes: [String]
        /// The collection's path, `/Table/` or `/database/Table/`.
        let path: String
    }

    // MARK: Routes

    func handle(method: String, path: RESTPath, query: String?, body: () async throws -> [UInt8], contentType: String?,
                format: RESTFormat, user: AuthenticatedUser) async throws -> RESTReply {
        let (table, id) = try await resolve(path, user)
        switch (method, id) {
        case ("GET", let id?): return try await get(table, id, select: try query.map(RESTQuery.init(parsing:))?.select, format, user)
        case ("GET", nil): return try await search(table, try RESTQuery(parsing: query ?? ""), format, user)
        case ("PUT", let id?), ("PATCH", let id?):
            return try await write(table, id, try RESTBody.record(try await body(), contentType: contentType), replace: method == "PUT", user)
        case ("POST", nil): return try await create(table, try RESTBody.record(try await body(), contentType: contentType), user)
        case ("DELETE", let id?): return try await delete(table, id, user)
        default: throw Self.methodNotAllowed(method, record: id != nil)
        }
    }

    /// 405, with the methods the resource has (the `Allow` header).
    struct MethodNotAllowed: Error {
        let allow: String
        let error: SkeinError
    }

    static func methodNotAllowed(_ method: String, record: Bool) -> MethodNotAllowed {
        let allow = record ? "GET, PUT, PATCH, DELETE" : "GET, POST"
        return MethodNotAllowed(allow: allow, error: SkeinError(status: 405, "method \(method) is not allowed on a \(record ? "record" : "table"): use \(allow)"))
    }

    func get(_ table: Table, _ id: String, select: [String]?, _ format: RESTFormat, _ user: AuthenticatedUser) async throws -> RESTReply {
        var body: [String: JSON] = ["ids": .array(RESTPath.alternatives(id))]
        if let select { body["get_attributes"] = JSON(select) }  // none: the record as stored
        let reply = try await run("search_by_id", table, body, user, actions: ["read"])
        guard let record = (try? JSON.parse(reply.body))?.arrayValue?.first else { throw Self.noRecord(table, id) }
        return RESTReply(status: 200, body: format.record(record), contentType: format.contentType)
    }

    func search(_ table: Table, _ query: RESTQuery, _ format: RESTFormat, _ user: AuthenticatedUser) async throws -> RESTReply {
        let body = query.searchBody(database: table.database, table: table.name)
        let reply = try await run(body, user, actions: ["read"])
        var encoder = format.encoder { query.select ?? table.attributes }
        guard let more = reply.more else {
            return RESTReply(status: 200, body: try encoder.open(reply.body) + encoder.close(), contentType: format.contentType)
        }
        let paged = PagedResult(client: operations.store, header: operations.header("search_by_conditions", user), body: body.serialized(),
                                firstPage: reply.body, more: more, encoder: encoder)
        return RESTReply(status: 200, contentType: format.contentType, paged: paged)
    }

    /// PUT replaces the record, PATCH merges into it; either creates a missing one (which
    /// needs `insert` where changing an existing one needs `update`, as in Harper).
    func write(_ table: Table, _ id: String, _ record: [String: JSON], replace: Bool, _ user: AuthenticatedUser) async throws -> RESTReply {
        guard user.allows(["insert"], database: table.database, table: table.name) || user.allows(["update"], database: table.database, table: table.name) else {
            throw Self.forbidden(["insert", "update"], table)
        }
        let existing = try await existingID(table, id, user)
        var record = record
        let key = existing ?? RESTPath.id(id)
        if let given = record[table.primaryKey], !given.isNull, !SearchCondition.looselyEqual(given, key) {
            throw SkeinError.badRequest("the record's '\(table.primaryKey)' (\(given)) differs from the id in the path (\(id))")
        }
        record[table.primaryKey] = key
        var body: [String: JSON] = ["records": [.object(record)]]
        if replace { body["replace"] = true }
        _ = try await run("upsert", table, body, user, actions: [existing == nil ? "insert" : "update"])
        return RESTReply(status: 204, contentType: nil)
    }

    /// POST: a new record; its id (generated when the body has none) in the body and `Location`.
    func create(_ table: Table, _ record: [String: JSON], _ user: AuthenticatedUser) async throws -> RESTReply {
        let reply = try await run("insert", table, ["records": [.object(record)]], user, actions: ["insert"])
        guard let id = (try? JSON.parse(reply.body))?["inserted_hashes"]?.arrayValue?.first else {
            throw SkeinError.conflict("a record with \(table.primaryKey) \(record[table.primaryKey] ?? .null) already exists")
        }
        return RESTReply(status: 201, body: id.serialized(), location: table.path + RESTPath.encoded(id.stringValue ?? id.text))
    }

    func delete(_ table: Table, _ id: String, _ user: AuthenticatedUser) async throws -> RESTReply {
        guard user.allows(["delete"], database: table.database, table: table.name) else { throw Self.forbidden(["delete"], table) }
        guard let key = try await existingID(table, id, user) else { throw Self.noRecord(table, id) }
        _ = try await run("delete", table, ["ids": [key]], user, actions: ["delete"])
        return RESTReply(status: 200, body: JSON.bool(true).serialized())
    }

    // MARK: Helpers

    /// The first reading of the path that names an exported table that exists.
    func resolve(_ path: RESTPath, _ user: AuthenticatedUser) async throws -> (Table, String?) {
        for target in path.candidates where exports.exports(database: target.database, table: target.table) {
            let body: JSON = ["operation": "describe_table", "database": .string(target.database), "table": .string(target.table)]
            let reply = try await operations.call(operations.store, "describe_table", body.serialized(), user)
            if reply.status == 404 { continue }
            let description = try Self.checked(reply)
            let prefix = target.database == RESTPath.defaultDatabase && path.segments.count == (target.id == nil ? 1 : 2)
                ? "/" : "/" + RESTPath.encoded(target.database) + "/"
            let table = Table(database: target.database, name: target.table, primaryKey: description["hash_attribute"]?.stringValue ?? "id",
                              attributes: description["attributes"]?.arrayValue?.compactMap { $0["attribute"]?.stringValue } ?? [],
                              path: prefix + RESTPath.encoded(target.table) + "/")
            return (table, target.id)
        }
        throw SkeinError.notFound("no table at '/\(path.segments.joined(separator: "/"))'")
    }

    /// The id as the record is stored (`7` or `"7"`), nil when there is none. A lookup for
    /// the gateway's own use: it decides which permission a write needs.
    func existingID(_ table: Table, _ id: String, _ user: AuthenticatedUser) async throws -> JSON? {
        let body: JSON = ["operation": "search_by_id", "database": .string(table.database), "table": .string(table.name),
                          "ids": .array(RESTPath.alternatives(id)), "get_attributes": [.string(table.primaryKey)]]
        let reply = try Self.checkedReply(try await operations.call(operations.store, "search_by_id", body.serialized(), user))
        return (try? JSON.parse(reply.body))?.arrayValue?.first?[table.primaryKey]
    }

    func run(_ op: String, _ table: Table, _ fields: [String: JSON], _ user: AuthenticatedUser, actions: [String]) async throws -> RPCReply {
        var body = fields
        body["operation"] = .string(op)
        body["database"] = .string(table.database)
        body["table"] = .string(table.name)
        return try await run(.object(body), user, actions: actions)
    }

    /// Authorizes `body` as the operations API would (the actions on its table) and sends it.
    func run(_ body: JSON, _ user: AuthenticatedUser, actions: [String]) async throws -> RPCReply {
        let req = OperationRequest(body: body.objectValue ?? [:])
        let op = req.operation ?? ""
        let forwarded = try await operations.authorize(user, .table(actions), req, op, body: body.serialized())
        return try Self.checkedReply(try await operations.call(operations.store, op, forwarded, user))
    }

    static func forbidden(_ actions: [String], _ table: Table) -> SkeinError {
        PermissionDenial.refusedTable(table.database, table.name, actions).error
    }

    static func noRecord(_ table: Table, _ id: String) -> SkeinError {
        .notFound("no record '\(id)' in '\(table.database).\(table.name)'")
    }

    /// A store reply that is not 200 becomes its error.
    static func checkedReply(_ reply: RPCReply) throws -> RPCReply {
        guard reply.status != 200 else { return reply }
        let message = (try? JSON.parse(reply.body))?["error"]?.stringValue ?? "store answered \(reply.status)"
        throw SkeinError(status: reply.status, message)
    }

    static func checked(_ reply: RPCReply) throws -> JSON {
        try JSON.parse(try checkedReply(reply).body)
    }
}
