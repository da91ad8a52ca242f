import SkeinCore
import SkeinLMDB
import SkeinStorage

/// How roles are found, Harper's way: a role has a stable `id` (Harper's `add_role` sets it
/// to the role's name unless given one) and a `role` name that `alter_role` may change;
/// users reference the id. `hdb_role` is keyed by the name (the table's primary key since
/// the first Skein), so a rename moves the record to its new key and keeps its id, and users
/// need no change. A record without an `id` (the built-in roles, roles from before ids) has
/// its name as id: nothing on disk needs migrating.
extension SystemTables {
    /// A role record's id.
    static func roleID(_ record: JSON) -> String? {
        record["id"]?.stringValue ?? record["role"]?.stringValue
    }

    /// A role record as the API shows it: with its id.
    static func withID(_ record: JSON) -> JSON {
        guard record["id"] == nil, let id = roleID(record) else { return record }
        return record.adding("id", .string(id))
    }

    /// Every role, each with its id.
    func allRoles(_ env: DatabaseEnvironment, _ txn: LMDBTransaction) throws -> [JSON] {
        try env.search(txn, table: Self.roles, condition: .group(.and, []), options: .init()).map(Self.withID)
    }

    /// The role named `name`, nil when there is none.
    func role(named name: String, _ env: DatabaseEnvironment, _ txn: LMDBTransaction) throws -> JSON? {
        try env.searchByID(txn, table: Self.roles, ids: [.string(name)], attributes: nil).first.map(Self.withID)
    }

    /// The role whose id is `id`: the record keyed `id` when its id is that (a role never
    /// renamed), else the one carrying it (roles are few: they are all read).
    func role(id: String, _ env: DatabaseEnvironment, _ txn: LMDBTransaction) throws -> JSON? {
        if let keyed = try role(named: id, env, txn), Self.roleID(keyed) == id { return keyed }
        return try allRoles(env, txn).first { Self.roleID($0) == id }
    }

    /// What a user's `role` names (an id; a name for users written before a rename could
    /// happen is the same thing), as the role record, or the text when no role has it.
    func resolvedRole(_ reference: JSON?, _ env: DatabaseEnvironment, _ txn: LMDBTransaction) throws -> JSON? {
        guard let id = reference?.stringValue else { return reference }
        return try role(id: id, env, txn) ?? .string(id)
    }

    /// The id of the role named `name` (what `add_user`/`alter_user` store), 404 when none.
    func roleIDForUser(named name: String, _ env: DatabaseEnvironment, _ txn: LMDBTransaction) throws -> String {
        guard let found = try role(named: name, env, txn), let id = Self.roleID(found) else {
            throw SkeinError.notFound("role '\(name)' does not exist")
        }
        return id
    }
}
