import SkeinCore
import SkeinLMDB
import SkeinStorage

/// Users and roles, in the `system` database (`hdb_user` keyed by username, `hdb_role` keyed
/// by role name, each role with a stable `id` that users reference: RoleRecords.swift) so
/// that replication carries them like any other table. Passwords arrive
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
            u["role"] = try resolvedRole(u["role"], env, txn)
            return u
        }
    }

    func listUsers() throws -> JSON {
        let env = try system
        return try env.lmdb.read { txn in
            let all = try env.search(txn, table: Self.users, condition: .group(.and, []), options: .init())
            var byID: [String: JSON] = [:]
            for r in try allRoles(env, txn) { if let id = Self.roleID(r) { byID[id] = r } }
            return .array(all.map { u in
                var u = u
                u["password"] = nil
                u["refresh_token"] = nil
                if let r = u["role"]?.stringValue { u["role"] = byID[r] ?? .string(r) }
                return u
            })
        }
    }

    func listRoles() throws -> JSON {
        let env = try system
        return .array(try env.lmdb.read { try allRoles(env, $0) })
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
        // Harper's add_user: the role is named, the user keeps its id.
        let role = try roleIDForUser(named: try req.requiredString("role"), env, txn)
        let active = try req.bool("active") ?? true
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
        if let role = try req.string("role") { changes["role"] = .string(try roleIDForUser(named: role, env, txn)) }
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
