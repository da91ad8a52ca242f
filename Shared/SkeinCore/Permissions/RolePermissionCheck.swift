/// Harper's checks of a role's `permission` object on `add_role`/`alter_role`
/// (`validation/role_validation.js`), with its 400 body: `{"error": "Errors in the role
/// permissions JSON provided", "main_permissions": [...], "schema_permissions":
/// {"db_table": [...]}}`.
///
/// One deliberate difference: a table's `read`/`insert`/`update`/`delete` and
/// `attribute_permissions` may be left out (they mean false and none), where Harper insists
/// on every key; anything present must be what Harper accepts.
public struct RolePermissionCheck {
    /// The attributes of a table, nil when the database or table does not exist.
    public typealias Tables = (_ database: String, _ table: String) -> [String]?

    public let databaseExists: (String) -> Bool
    public let attributes: Tables

    public init(databaseExists: @escaping (String) -> Bool, attributes: @escaping Tables) {
        self.databaseExists = databaseExists
        self.attributes = attributes
    }

    public static let message = "Errors in the role permissions JSON provided"
    static let roleFlags = ["super_user", "cluster_user"]
    static let tableKeys: Set<String> = ["read", "insert", "update", "delete", "attribute_permissions"]
    static let attributeKeys: Set<String> = ["attribute_name", "read", "insert", "update", "delete"]

    /// Throws Harper's 400 when `permission` has errors.
    public func validate(_ permission: JSON) throws(SkeinError) {
        guard case .object(let p) = permission else { throw SkeinError.badRequest("'permission' is required and must be an object") }
        var main: [String] = []
        var tables: [String: [String]] = [:]
        func add(_ message: String, _ database: String, _ table: String) { tables["\(database)_\(table)", default: []].append(message) }

        let superUser = p["super_user"]?.boolValue == true, clusterUser = p["cluster_user"]?.boolValue == true
        if (superUser || clusterUser) && p.count > 1 {
            main.append(superUser && clusterUser
                ? "Roles cannot have both 'super_user' and 'cluster_user' values included in their permissions set."
                : "Roles with '\(superUser ? "super_user" : "cluster_user")' set to true cannot have other permissions set.")
        }
        for flag in Self.roleFlags {
            if let v = p[flag], v.boolValue == nil { main.append("Value for '\(flag)' permission must be a boolean") }
        }
        for (key, value) in p.sorted(by: { $0.key < $1.key }) where !Self.roleFlags.contains(key) {
            if key == "structure_user" {
                switch value {
                case .bool: break
                case .array(let names):
                    for name in names { if !databaseExists(name.stringValue ?? "") { main.append("database '\(name.stringValue ?? name.text)' does not exist") } }
                default: main.append("Value for 'structure_user' permission must be a boolean or Array")
                }
                continue
            }
            guard databaseExists(key) else {
                main.append("database '\(key)' does not exist")
                continue
            }
            for (table, rule) in (value["tables"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
                guard let known = attributes(key, table) else {
                    main.append("Table '\(key).\(table)' does not exist")
                    continue
                }
                checkTable(rule, key, table, known) { add($0, key, table) }
            }
        }
        guard main.isEmpty && tables.isEmpty else {
            throw SkeinError(status: 400, Self.message, fields: [
                "main_permissions": .array(main.map(JSON.string)),
                "schema_permissions": .object(tables.mapValues { .array($0.map(JSON.string)) }),
            ])
        }
    }

    private func checkTable(_ rule: JSON, _ database: String, _ table: String, _ known: [String], _ add: (String) -> Void) {
        guard case .object(let r) = rule else {
            add("Invalid table permission key value '\(rule.text)'")
            return
        }
        for key in r.keys.sorted() where !Self.tableKeys.contains(key) { add("Invalid table permission key value '\(key)'") }
        for key in ["read", "insert", "update", "delete"] {
            if let v = r[key], v.boolValue == nil { add("Table \(key.uppercased()) permission must be a boolean") }
        }
        guard let list = r["attribute_permissions"]?.nonNull else { return }
        guard let items = list.arrayValue else {
            add("Value for 'attribute_permissions' must be an array")
            return
        }
        var granted: Set<String> = []
        for item in items {
            for key in (item.objectValue ?? [:]).keys.sorted() where !Self.attributeKeys.contains(key) {
                add("Invalid attribute permission key value '\(key)'")
            }
            guard let name = item["attribute_name"]?.stringValue else {
                add("Permission object in 'attribute_permission' missing an 'attribute_name'")
                continue
            }
            guard known.contains(name) else {
                add("Invalid attribute '\(name)' in 'attribute_permissions'")
                continue
            }
            for key in ["read", "insert", "update"] {
                guard let v = item[key] else { continue }
                guard let flag = v.boolValue else {
                    add("\(key.uppercased()) attribute permission for '\(name)' must be a boolean")
                    continue
                }
                if flag { granted.insert(key) }
            }
        }
        if granted.contains(where: { r[$0]?.boolValue != true }) {
            add("You have a conflict with TABLE permissions for '\(database).\(table)' being false and ATTRIBUTE permissions being true")
        }
    }
}
