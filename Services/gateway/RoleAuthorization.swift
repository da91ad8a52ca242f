import SkeinCore
import SkeinService

/// Harper's role checks (`utility/operation_authorization.js`) for one request: table
/// rights, attribute rights where the role lists `attribute_permissions`, structure users,
/// and what `describe_*` shows a role. A refusal is Harper's 403 body (`PermissionDenial`).
extension OperationsHandler {
    /// Checks `user` may run `op`; returns the body to forward, which differs from `body`
    /// only for a search with `get_attributes: ["*"]` (or none) on a table whose attributes
    /// the role may read only some of (the `*` becomes those attributes, as Harper does).
    func authorize(_ user: AuthenticatedUser, _ requirement: OperationCatalog.Requirement, _ req: OperationRequest,
                   _ op: String, body: [UInt8]) async throws -> [UInt8] {
        let role = user.rules
        if role.isSuperUser { return body }
        switch requirement {
        case .anyUser, .describeAll:
            return body
        case .superUser:
            throw PermissionDenial.superUserOnly(op).error
        case .structure(let databases):
            if databases {
                guard role.structure == .all else { throw PermissionDenial.superUserOnly(op).error }
                return body
            }
            let database = try req.database()
            if role.structure != .none {
                guard role.structures(database) else {
                    throw PermissionDenial(unauthorized: [.string("User does not have access to perform '\(op)' against schema '\(database)'")]).error
                }
                return body
            }
            // Harper lets a role that may insert into a table add its attributes.
            guard op == "create_attribute" else { throw PermissionDenial.superUserOnly(op).error }
            if let denial = PermissionDenial.check(role, database: database, table: try req.table(), needs: ["insert"]) { throw denial.error }
            return body
        case .describeDatabase:
            let database = try req.database()
            if database == "system" { throw PermissionDenial.systemMetadata(database).error }
            guard role.describes(database) else { throw PermissionDenial.missingDatabase(database).error }
            return body
        case .table(let needs):
            let database = try req.database(), table = try req.table()
            if op == "describe_table" {
                if database == "system" { throw PermissionDenial.systemMetadata(database).error }
                guard role.describes(database, table) else { throw PermissionDenial.missingTable(database, table).error }
            }
            if let denial = PermissionDenial.check(role, database: database, table: table, needs: needs) { throw denial.error }
            guard let rule = role.table(database, table), rule.attributes != nil else { return body }
            return try await authorizeAttributes(rule, database: database, table: table, needs: needs, body: body)
        }
    }

    /// The attribute half of a table check, for a role with `attribute_permissions` on the
    /// table: the request is read whole (records included) and the table's primary key
    /// fetched, since it borrows the rights of the listed attributes.
    private func authorizeAttributes(_ rule: RolePermission.TableRule, database: String, table: String, needs: [String],
                                     body: [UInt8]) async throws -> [UInt8] {
        let full = try OperationRequest(bytes: body)
        let described = try await store.call(op: "describe_table", body: ["database": .string(database), "table": .string(table)])
        guard let hash = described["hash_attribute"]?.stringValue else { return body }
        let named = RequestAttributes.named(in: full)
        if let denial = PermissionDenial.checkAttributes(rule, database: database, table: table, needs: needs, attributes: named,
                                                         hashAttribute: hash) {
            throw denial.error
        }
        // A read without `get_attributes` returns whole records: the same as `*`.
        let asked = full.requestedAttributes?.arrayValue
        guard needs.contains("read"), asked == nil || asked!.contains(where: { $0.stringValue == "*" }),
              let readable = rule.readableAttributes(hashAttribute: hash) else { return body }
        var rewritten = full.body
        rewritten.removeValue(forKey: "select")  // it would win over the list written here
        rewritten["get_attributes"] = .array(readable.map(JSON.string))
        return JSON.object(rewritten).serialized()
    }

    /// What a `describe_*` answer shows a role that is not a super user: the databases,
    /// tables and attributes it may use (Harper's `schemaDescribe.js`). The system database
    /// is never shown.
    func visible(_ op: String, _ reply: RPCReply, _ req: OperationRequest, _ user: AuthenticatedUser) throws -> RPCReply {
        let role = user.rules
        guard !role.isSuperUser, reply.status == 200 else { return reply }
        let json = try JSON.parse(reply.body)
        switch op {
        case "describe_all":
            var shown: [String: JSON] = [:]
            for (database, tables) in json.objectValue ?? [:] where database != "system" && role.describes(database) {
                shown[database] = Self.visibleTables(tables, database, role)
            }
            return RPCReply(json: .object(shown))
        case "describe_database", "describe_schema":
            return RPCReply(json: Self.visibleTables(json, try req.database(), role))
        case "describe_table":
            return RPCReply(json: Self.visibleAttributes(json, try req.database(), try req.table(), role))
        default:
            return reply
        }
    }

    private static func visibleTables(_ tables: JSON, _ database: String, _ role: RolePermission) -> JSON {
        var shown: [String: JSON] = [:]
        for (table, description) in tables.objectValue ?? [:] where role.describes(database, table) {
            shown[table] = visibleAttributes(description, database, table, role)
        }
        return .object(shown)
    }

    private static func visibleAttributes(_ description: JSON, _ database: String, _ table: String, _ role: RolePermission) -> JSON {
        guard let rule = role.table(database, table), rule.attributes != nil,
              let hash = description["hash_attribute"]?.stringValue, let attributes = description["attributes"]?.arrayValue else {
            return description
        }
        var shown = description
        shown["attributes"] = .array(attributes.filter { a in
            guard let name = a["attribute"]?.stringValue else { return false }
            return rule.attribute(name, hashAttribute: hash)?.describes == true
        })
        return shown
    }
}
