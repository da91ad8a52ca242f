/// A role's `permission` object read as Harper reads it (`security/permissionsTranslator.js`):
/// `{super_user, cluster_user, structure_user, <database>: {tables: {<table>: {read, insert,
/// update, delete, attribute_permissions: [{attribute_name, read, insert, update}]}}}}`.
///
/// What Harper derives, derived here the same way: a table is visible ("describe") when the
/// role may do anything with it; a structure user gets every right on the databases it
/// structures; with attribute permissions, an attribute the list leaves out has no rights,
/// the primary key has the rights of any listed attribute unless listed itself, and
/// `__createdtime__`/`__updatedtime__` can only ever be read.
public struct RolePermission: Sendable {
    public enum Structure: Sendable, Equatable {
        case none
        /// `structure_user: true`: creates and drops databases, tables and attributes anywhere.
        case all
        /// `structure_user: [databases]`: tables and attributes in these databases.
        case databases(Set<String>)
    }

    public struct AttributeRule: Sendable, Equatable {
        public var read: Bool, insert: Bool, update: Bool
        public init(read: Bool, insert: Bool, update: Bool) {
            self.read = read
            self.insert = insert
            self.update = update
        }
        public var describes: Bool { read || insert || update }
        public func allows(_ action: String) -> Bool {
            switch action {
            case "read": read
            case "insert": insert
            case "update": update
            // Harper keeps no attribute-level delete: a delete is the table's business.
            default: true
            }
        }
    }

    public struct TableRule: Sendable, Equatable {
        public var read: Bool, insert: Bool, update: Bool, delete: Bool
        /// `attribute_permissions` when the role lists any; nil when every attribute follows the table.
        public var attributes: [String: AttributeRule]?

        public init(read: Bool, insert: Bool, update: Bool, delete: Bool, attributes: [String: AttributeRule]? = nil) {
            self.read = read
            self.insert = insert
            self.update = update
            self.delete = delete
            self.attributes = attributes
        }

        public static let everything = TableRule(read: true, insert: true, update: true, delete: true)

        public var describes: Bool { read || insert || update || delete }

        public func allows(_ action: String) -> Bool {
            switch action {
            case "read": read
            case "insert": insert
            case "update": update
            case "delete": delete
            default: false
            }
        }

        /// The rule for one attribute; nil when the table has no attribute permissions.
        /// `hashAttribute` is the table's primary key, which borrows every right some listed
        /// attribute has unless the role lists it.
        public func attribute(_ name: String, hashAttribute: String) -> AttributeRule? {
            guard let attributes else { return nil }
            if let rule = attributes[name] {
                return Self.timestamps.contains(name) ? AttributeRule(read: rule.read, insert: false, update: false) : rule
            }
            if name == hashAttribute {
                return attributes.values.reduce(AttributeRule(read: false, insert: false, update: false)) {
                    AttributeRule(read: $0.read || $1.read, insert: $0.insert || $1.insert, update: $0.update || $1.update)
                }
            }
            return AttributeRule(read: false, insert: false, update: false)
        }

        /// The attributes the role may read, for `get_attributes: ["*"]`; nil when every attribute may be read.
        public func readableAttributes(hashAttribute: String) -> [String]? {
            guard let attributes else { return nil }
            var names = attributes.filter { $0.value.read }.map(\.key)
            if attributes[hashAttribute] == nil, attribute(hashAttribute, hashAttribute: hashAttribute)?.read == true {
                names.append(hashAttribute)
            }
            return names.sorted()
        }

        static let timestamps: Set<String> = ["__createdtime__", "__updatedtime__"]
    }

    public let isSuperUser: Bool
    public let isClusterUser: Bool
    public let structure: Structure
    private let databases: [String: (describe: Bool, tables: [String: TableRule])]

    public init(_ permission: JSON) {
        isSuperUser = permission["super_user"]?.boolValue == true
        isClusterUser = permission["cluster_user"]?.boolValue == true
        switch permission["structure_user"] {
        case .bool(true)?: structure = .all
        case .array(let names)?: structure = .databases(Set(names.compactMap(\.stringValue)))
        default: structure = .none
        }
        var databases: [String: (describe: Bool, tables: [String: TableRule])] = [:]
        for (name, value) in permission.objectValue ?? [:] where !Self.flags.contains(name) {
            var tables: [String: TableRule] = [:]
            for (table, rule) in value["tables"]?.objectValue ?? [:] {
                tables[table] = Self.tableRule(rule)
            }
            databases[name] = (value["describe"]?.boolValue == true, tables)
        }
        self.databases = databases
    }

    static let flags: Set<String> = ["super_user", "cluster_user", "structure_user"]

    private static func tableRule(_ json: JSON) -> TableRule {
        func flag(_ j: JSON?, _ key: String) -> Bool { j?[key]?.boolValue == true }
        var attributes: [String: AttributeRule]?
        if let list = json["attribute_permissions"]?.arrayValue, !list.isEmpty {
            var rules: [String: AttributeRule] = [:]
            for item in list {
                guard let name = item["attribute_name"]?.stringValue, rules[name] == nil else { continue }
                rules[name] = AttributeRule(read: flag(item, "read"), insert: flag(item, "insert"), update: flag(item, "update"))
            }
            attributes = rules
        }
        return TableRule(read: flag(json, "read"), insert: flag(json, "insert"), update: flag(json, "update"),
                         delete: flag(json, "delete"), attributes: attributes)
    }

    /// May this role create or drop tables and attributes in `database`? (Databases themselves: `structure == .all`.)
    public func structures(_ database: String) -> Bool {
        switch structure {
        case .none: false
        case .all: true
        case .databases(let names): names.contains(database)
        }
    }

    /// The role's rule for a table; nil when the role says nothing about it.
    public func table(_ database: String, _ table: String) -> TableRule? {
        if isSuperUser || structures(database) { return .everything }
        return databases[database]?.tables[table]
    }

    /// Whether the role sees the database at all (its describe flag, or a table it may use).
    public func describes(_ database: String) -> Bool {
        if isSuperUser || structures(database) { return true }
        guard let db = databases[database] else { return false }
        return db.describe || db.tables.values.contains { $0.describes }
    }

    /// Whether the role sees the table (it may do something with it).
    public func describes(_ database: String, _ table: String) -> Bool {
        self.table(database, table)?.describes == true
    }
}
