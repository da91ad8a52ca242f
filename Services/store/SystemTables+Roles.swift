import SkeinCore
import SkeinLMDB
import SkeinStorage

/// `add_role`, `alter_role` and `drop_role`, as Harper's security/role.js: roles are found by
/// their id, `alter_role` may rename one (its users follow: they hold the id), and every
/// change is one write to `system.hdb_role`, replicated like any other.
extension SystemTables {
    /// `add_role {role, id?, permission}`: the id is the name unless given (Harper's rule).
    func addRole(_ req: OperationRequest, _ env: DatabaseEnvironment, _ txn: LMDBTransaction, _ ctx: WriteContext) throws -> JSON {
        let name = try req.requiredString("role", aliases: ["id"])
        guard StorageLayout.isValidName(name) else { throw SkeinError.badRequest("invalid role name '\(name)'") }
        let id = try req.string("id") ?? name
        guard !id.isEmpty else { throw SkeinError.badRequest("'id' must not be empty") }
        let permission = try permission(req)
        // Harper's answer (security/role.js addRole; 10_otherRoleTests.mjs "Add non-SU role w/ same name").
        guard try role(named: name, env, txn) == nil else { throw SkeinError.conflict("A role with name '\(name)' already exists") }
        guard try role(id: id, env, txn) == nil else { throw SkeinError.conflict("A role with id '\(id)' already exists") }
        let record: JSON = ["role": .string(name), "id": .string(id), "permission": permission]
        let result = try env.write(txn, table: Self.roles, records: [record], mode: .insert, context: ctx)
        guard result["inserted_hashes"]?.arrayValue?.isEmpty == false else { throw SkeinError.conflict("A role with name '\(name)' already exists") }
        return record
    }

    /// `alter_role {id, role?, permission}`: replaces the role's permission and, when `role`
    /// differs from its name, renames it (its record moves to the new name's key in the
    /// same transaction; the id stays, so its users keep it). Answers the role, as Harper.
    func alterRole(_ req: OperationRequest, _ env: DatabaseEnvironment, _ txn: LMDBTransaction, _ ctx: WriteContext) throws -> JSON {
        let id = try req.requiredString("id", aliases: ["role"])
        guard Self.builtInRoles[id] == nil else { throw SkeinError.badRequest("built-in role '\(id)' cannot be altered") }
        let permission = try permission(req)
        // Harper: an update of no role is 400 'Invalid role id' (security/role.js alterRole).
        guard let current = try role(id: id, env, txn), let oldName = current["role"]?.stringValue else {
            throw SkeinError.badRequest("Invalid role id")
        }
        // Without `id`, `role` named the role to alter; with it, `role` is the new name.
        let newName = req.body["id"] == nil ? oldName : try req.string("role") ?? oldName
        let record: JSON = ["role": .string(newName), "id": .string(id), "permission": permission]
        guard newName != oldName else {
            _ = try env.write(txn, table: Self.roles, records: [record], mode: .update, context: ctx)
            return record
        }
        guard StorageLayout.isValidName(newName) else { throw SkeinError.badRequest("invalid role name '\(newName)'") }
        guard try role(named: newName, env, txn) == nil else { throw SkeinError.conflict("A role with name '\(newName)' already exists") }
        _ = try env.delete(txn, table: Self.roles, ids: [.string(oldName)], context: ctx)
        let result = try env.write(txn, table: Self.roles, records: [record], mode: .insert, context: ctx)
        guard result["inserted_hashes"]?.arrayValue?.isEmpty == false else { throw SkeinError.conflict("A role with name '\(newName)' already exists") }
        return record
    }

    /// `drop_role {id}` (or `{role}`, its name): 404 `Role not found`; 409 while an active
    /// user has it (Harper's answers, security/role.js; 10_otherRoleTests.mjs:2293).
    func dropRole(_ req: OperationRequest, _ env: DatabaseEnvironment, _ txn: LMDBTransaction, _ ctx: WriteContext) throws -> JSON {
        let given = try req.requiredString("id", aliases: ["role"])
        guard let found = try role(id: given, env, txn) ?? role(named: given, env, txn),
              let id = Self.roleID(found), let name = found["role"]?.stringValue else { throw SkeinError.notFound("Role not found") }
        guard Self.builtInRoles[id] == nil else { throw SkeinError.badRequest("built-in role '\(name)' cannot be dropped") }
        let users = try env.search(txn, table: Self.users, condition: .leaf(attribute: "role", comparator: .equals, value: .string(id)), options: .init())
        guard !users.contains(where: { $0["active"]?.boolValue != false }) else {
            throw SkeinError.conflict("Cannot drop role \(name) as it has active user(s) tied to this role")
        }
        _ = try env.delete(txn, table: Self.roles, ids: [.string(name)], context: ctx)
        return ["message": .string("\(name) successfully deleted")]
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
}
