import SkeinCore
import SkeinLMDB
import SkeinStorage

/// Users and roles, in the `system` database (`hdb_user` keyed by username, `hdb_role` keyed
/// by role name) so that replication will carry them like any other table. Passwords arrive
/// already hashed by the gateway; the store never sees a clear-text password.
struct SystemTables {
    let registry: DatabaseRegistry

    static let users = "hdb_user"
    static let roles = "hdb_role"
    static let nodes = "hdb_nodes"
    static let builtInRoles: [String: JSON] = [
        "super_user": ["super_user": true],
        "cluster_user": ["cluster_user": true],
    ]

    var system: DatabaseEnvironment {
        get throws { try registry.database(DatabaseRegistry.systemDatabase)! }
    }

    /// Creates the system database, its tables and the built-in roles (idempotent).
    func bootstrap(context: WriteContext) throws {
        let (env, _) = try registry.create(DatabaseRegistry.systemDatabase)
        try env.lmdb.write { txn in
            for (table, pk) in [(Self.users, "username"), (Self.roles, "role"), (Self.nodes, "name")] where try env.table(txn, table) == nil {
                _ = try env.createTable(txn, name: table, primaryKey: pk, attributes: [], context: context)
            }
            for (role, permission) in Self.builtInRoles.sorted(by: { $0.key < $1.key }) {
                _ = try env.write(txn, table: Self.roles, records: [["role": .string(role), "permission": permission]], mode: .insert, context: context)
            }
        }
        _ = try registry.create("data")
    }

    // MARK: Reads

    func user(_ name: String) throws -> JSON? {
        let env = try system
        return try env.lmdb.read { txn -> JSON? in
            guard var u = try env.searchByID(txn, table: Self.users, ids: [.string(name)], attributes: nil).first else { return nil }
            if let role = u["role"]?.stringValue {
                u["role"] = try env.searchByID(txn, table: Self.roles, ids: [.string(role)], attributes: nil).first ?? .string(role)
            }
            return u
        }
    }

    func listUsers() throws -> JSON {
        let env = try system
        return try env.lmdb.read { txn in
            let all = try env.search(txn, table: Self.users, condition: .group(.and, []), options: .init())
            let roles = try env.search(txn, table: Self.roles, condition: .group(.and, []), options: .init())
            var byName: [String: JSON] = [:]
            for r in roles { if let n = r["role"]?.stringValue { byName[n] = r } }
            return .array(all.map { u in
                var u = u
                u["password"] = nil
                u["refresh_token"] = nil
                if let r = u["role"]?.stringValue { u["role"] = byName[r] ?? .string(r) }
                return u
            })
        }
    }

    func listRoles() throws -> JSON {
        let env = try system
        return .array(try env.lmdb.read { try env.search($0, table: Self.roles, condition: .group(.and, []), options: .init()) })
    }

    /// Every `hdb_nodes` record (the cluster's membership, replicated like any table).
    func listNodes() throws -> JSON {
        let env = try system
        return .array(try env.lmdb.read { try env.search($0, table: Self.nodes, condition: .group(.and, []), options: .init()) })
    }

    // MARK: Writes (run inside the writer's transaction on `system`)

    /// `node_upsert {record, only_if_missing?}`: writes one `hdb_nodes` record (keyed by
    /// `name`). With `only_if_missing`, an existing record is left alone (how routes
    /// populate the table without overwriting what a node says about itself).
    func upsertNode(_ req: OperationRequest, _ env: DatabaseEnvironment, _ txn: LMDBTransaction, _ ctx: WriteContext) throws -> JSON {
        guard let record = req.body["record"], let name = record["name"]?.stringValue, !name.isEmpty else {
            throw SkeinError.badRequest("'record' must be an object with a non-empty 'name'")
        }
        let existing = try env.searchByID(txn, table: Self.nodes, ids: [.string(name)], attributes: nil).first
        let placeholder = try req.bool("only_if_missing") == true
        if existing != nil, placeholder { return ["written": false] }
        if let existing, existing.hasFields(of: record) { return ["written": false] }
        // A placeholder carries the bootstrap version: the node's own record, wherever it
        // was written, always wins over it.
        _ = try env.write(txn, table: Self.nodes, records: [record], mode: .upsert, context: placeholder ? ctx.bootstrap : ctx)
        return ["written": true, "existed": .bool(existing != nil)]
    }

    /// `node_remove {name}`: deletes an `hdb_nodes` record (404 when there is none).
    func removeNode(_ req: OperationRequest, _ env: DatabaseEnvironment, _ txn: LMDBTransaction, _ ctx: WriteContext) throws -> JSON {
        let name = try req.requiredString("name")
        let result = try env.delete(txn, table: Self.nodes, ids: [.string(name)], context: ctx)
        guard result["deleted_hashes"]?.arrayValue?.isEmpty == false else { throw SkeinError.notFound("node '\(name)' is not in the cluster") }
        return ["removed": true]
    }

    func addUser(_ req: OperationRequest, _ env: DatabaseEnvironment, _ txn: LMDBTransaction, _ ctx: WriteContext) throws -> JSON {
        let username = try req.requiredString("username")
        let hash = try req.requiredString("password")
        let role = try req.requiredString("role")
        let active = try req.bool("active") ?? true
        guard try env.searchByID(txn, table: Self.roles, ids: [.string(role)], attributes: nil).first != nil else {
            throw SkeinError.notFound("role '\(role)' does not exist")
        }
        let result = try env.write(txn, table: Self.users, records: [[
            "username": .string(username), "password": .string(hash), "role": .string(role), "active": .bool(active),
        ]], mode: .insert, context: ctx)
        guard result["inserted_hashes"]?.arrayValue?.isEmpty == false else {
            // Harper's answer (security/user.js addUser; 6_sqlRoleTesting.mjs "Add user that already exists").
            throw SkeinError.conflict("User \(username) already exists")
        }
        return ["message": .string("\(username) successfully added")]
    }

    func alterUser(_ req: OperationRequest, _ env: DatabaseEnvironment, _ txn: LMDBTransaction, _ ctx: WriteContext) throws -> JSON {
        let username = try req.requiredString("username")
        var changes: [String: JSON] = ["username": .string(username)]
        if let hash = try req.string("password") { changes["password"] = .string(hash) }
        if let role = try req.string("role") {
            guard try env.searchByID(txn, table: Self.roles, ids: [.string(role)], attributes: nil).first != nil else {
                throw SkeinError.notFound("role '\(role)' does not exist")
            }
            changes["role"] = .string(role)
        }
        if let active = try req.bool("active") { changes["active"] = .bool(active) }
        let result = try env.write(txn, table: Self.users, records: [.object(changes)], mode: .update, context: ctx)
        guard result["update_hashes"]?.arrayValue?.isEmpty == false else { throw SkeinError.notFound("User '\(username)' does not exist") }
        return ["message": "updated 1 of 1 records", "new_attributes": [], "txn_time": result["txn_time"] ?? .null]
    }

    func dropUser(_ req: OperationRequest, _ env: DatabaseEnvironment, _ txn: LMDBTransaction, _ ctx: WriteContext) throws -> JSON {
        let username = try req.requiredString("username")
        let result = try env.delete(txn, table: Self.users, ids: [.string(username)], context: ctx)
        guard result["deleted_hashes"]?.arrayValue?.isEmpty == false else { throw SkeinError.notFound("User '\(username)' does not exist") }
        return ["message": .string("\(username) successfully deleted")]
    }

    func addRole(_ req: OperationRequest, _ env: DatabaseEnvironment, _ txn: LMDBTransaction, _ ctx: WriteContext) throws -> JSON {
        let role = try req.requiredString("role", aliases: ["id"])
        guard StorageLayout.isValidName(role) else { throw SkeinError.badRequest("invalid role name '\(role)'") }
        let record: JSON = ["role": .string(role), "id": .string(role), "permission": try permission(req)]
        let result = try env.write(txn, table: Self.roles, records: [record], mode: .insert, context: ctx)
        guard result["inserted_hashes"]?.arrayValue?.isEmpty == false else {
            // Harper's answer (security/role.js addRole; 10_otherRoleTests.mjs "Add non-SU role w/ same name").
            throw SkeinError.conflict("A role with name '\(role)' already exists")
        }
        return record
    }

    /// `alter_role {id (or role), permission}`: replaces an existing role's permission and
    /// answers the role, as Harper's security/role.js alterRole does. The role's name is its
    /// key here, so a `role` other than `id` (Harper's rename) is refused.
    func alterRole(_ req: OperationRequest, _ env: DatabaseEnvironment, _ txn: LMDBTransaction, _ ctx: WriteContext) throws -> JSON {
        let id = try req.requiredString("id", aliases: ["role"])
        if let name = try req.string("role"), name != id {
            throw SkeinError.badRequest("renaming a role is not supported: 'role' must be '\(id)' or left out")
        }
        guard Self.builtInRoles[id] == nil else { throw SkeinError.badRequest("built-in role '\(id)' cannot be altered") }
        let record: JSON = ["role": .string(id), "id": .string(id), "permission": try permission(req)]
        let result = try env.write(txn, table: Self.roles, records: [record], mode: .update, context: ctx)
        // Harper: an update of no role is 400 'Invalid role id' (security/role.js alterRole).
        guard result["update_hashes"]?.arrayValue?.isEmpty == false else { throw SkeinError.badRequest("Invalid role id") }
        return record
    }

    /// The request's `permission`, checked as Harper checks it (`RolePermissionCheck`:
    /// the databases, tables and attributes it names exist, values are what Harper accepts).
    func permission(_ req: OperationRequest) throws -> JSON {
        guard let permission = req.body["permission"], case .object = permission else {
            throw SkeinError.badRequest("'permission' is required and must be an object")
        }
        let registry = self.registry
        let check = RolePermissionCheck(databaseExists: { registry.exists($0) }) { database, table in
            guard let env = try? registry.database(database), let schema = try? env.lmdb.read({ try env.table($0, table) }) else { return nil }
            return schema.attributes
        }
        try check.validate(permission)
        return permission
    }

    func dropRole(_ req: OperationRequest, _ env: DatabaseEnvironment, _ txn: LMDBTransaction, _ ctx: WriteContext) throws -> JSON {
        let role = try req.requiredString("role", aliases: ["id"])
        guard Self.builtInRoles[role] == nil else { throw SkeinError.badRequest("built-in role '\(role)' cannot be dropped") }
        // Harper's answers (security/role.js; integrationTests 10_otherRoleTests.mjs:2293): a
        // role is kept while an active user has it (409), and a missing one is "Role not found".
        guard try !env.searchByID(txn, table: Self.roles, ids: [.string(role)], attributes: nil).isEmpty else { throw SkeinError.notFound("Role not found") }
        let users = try env.search(txn, table: Self.users, condition: .leaf(attribute: "role", comparator: .equals, value: .string(role)), options: .init())
        guard !users.contains(where: { $0["active"]?.boolValue != false }) else {
            throw SkeinError.conflict("Cannot drop role \(role) as it has active user(s) tied to this role")
        }
        _ = try env.delete(txn, table: Self.roles, ids: [.string(role)], context: ctx)
        return ["message": .string("\(role) successfully deleted")]
    }

    /// Creates the first super user when there is no user at all, with the bootstrap
    /// version: a node joining a cluster must not reset the cluster's admin password (any
    /// real write of that user, here or on a peer, wins over it).
    func ensureAdmin(_ req: OperationRequest, _ env: DatabaseEnvironment, _ txn: LMDBTransaction, _ ctx: WriteContext) throws -> JSON {
        let username = try req.requiredString("username")
        let hash = try req.requiredString("password")
        let users = try env.readHandle(txn, StorageLayout.records(Self.users)).map { try txn.count($0) } ?? 0
        guard users == 0 else { return ["created": false] }
        _ = try env.write(txn, table: Self.users, records: [[
            "username": .string(username), "password": .string(hash), "role": "super_user", "active": true,
        ]], mode: .insert, context: ctx.bootstrap)
        return ["created": true]
    }
}
