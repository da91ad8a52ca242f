/// Why a role may not run an operation, in Harper's 403 body
/// (`security/data_objects/PermissionResponseObject.js`):
/// `{"error": "This operation is not authorized due to role restrictions and/or invalid
/// database items", "unauthorized_access": [...], "invalid_schema_items": [...]}`.
/// `unauthorized_access` holds either one message (an operation for super users, a system
/// database) or tables with `required_table_permissions` and
/// `required_attribute_permissions`; `invalid_schema_items` names what the role cannot see,
/// worded as if it did not exist.
public struct PermissionDenial: Error, Sendable, Equatable {
    public var unauthorized: [JSON] = []
    public var invalid: [String] = []

    public init(unauthorized: [JSON] = [], invalid: [String] = []) {
        self.unauthorized = unauthorized
        self.invalid = invalid
    }

    public static let message = "This operation is not authorized due to role restrictions and/or invalid database items"

    public var isEmpty: Bool { unauthorized.isEmpty && invalid.isEmpty }

    public var error: SkeinError {
        SkeinError(status: 403, Self.message, fields: [
            "unauthorized_access": .array(unauthorized), "invalid_schema_items": .array(invalid.map(JSON.string)),
        ])
    }

    public static func superUserOnly(_ operation: String) -> PermissionDenial {
        PermissionDenial(unauthorized: [.string("Operation '\(operation)' is restricted to 'super_user' roles")])
    }

    public static func systemMetadata(_ database: String) -> PermissionDenial {
        PermissionDenial(unauthorized: [.string("Your role does not have permission to view database metadata for '\(database)'")])
    }

    public static func missingDatabase(_ database: String) -> PermissionDenial {
        PermissionDenial(invalid: ["database '\(database)' does not exist"])
    }

    public static func missingTable(_ database: String, _ table: String) -> PermissionDenial {
        PermissionDenial(invalid: ["Table '\(database).\(table)' does not exist"])
    }

    /// Harper's `verifyPerms` for an operation on one table: `needs` are the table rights
    /// (`read`, `insert`, `update`, `delete`). nil: allowed, as far as the table goes (see
    /// `checkAttributes` for a role with attribute permissions on it).
    public static func check(_ role: RolePermission, database: String, table: String, needs: [String]) -> PermissionDenial? {
        if role.isSuperUser { return nil }
        // The system database is the super users' (Harper gives every role its tables with no rights).
        if database == "system" { return refusedTable(database, table, needs) }
        guard role.describes(database) else { return missingDatabase(database) }
        guard let rule = role.table(database, table), rule.describes else { return missingTable(database, table) }
        let missing = needs.filter { !rule.allows($0) }
        return missing.isEmpty ? nil : refusedTable(database, table, missing)
    }

    /// The attributes a request names (record keys, `get_attributes`, search attributes)
    /// against a table rule with attribute permissions: one the role cannot see is reported
    /// as missing, one it sees without the right needed as `required_attribute_permissions`.
    public static func checkAttributes(_ rule: RolePermission.TableRule, database: String, table: String, needs: [String],
                                       attributes: [String], hashAttribute: String) -> PermissionDenial? {
        guard rule.attributes != nil else { return nil }
        var denial = PermissionDenial()
        var attributeNeeds: [JSON] = []
        var seen: Set<String> = []
        for name in attributes where seen.insert(name).inserted {
            guard let a = rule.attribute(name, hashAttribute: hashAttribute), a.describes else {
                denial.invalid.append("Attribute '\(name)' does not exist on '\(database).\(table)'")
                continue
            }
            let refused = needs.filter { !a.allows($0) }
            if !refused.isEmpty {
                attributeNeeds.append(["attribute_name": .string(name), "required_permissions": .array(refused.map(JSON.string))])
            }
        }
        if !attributeNeeds.isEmpty {
            denial.unauthorized.append(tableEntry(database, table, [], attributeNeeds))
        }
        return denial.isEmpty ? nil : denial
    }

    public static func refusedTable(_ database: String, _ table: String, _ needs: [String]) -> PermissionDenial {
        PermissionDenial(unauthorized: [tableEntry(database, table, needs, [])])
    }

    static func tableEntry(_ database: String, _ table: String, _ needs: [String], _ attributes: [JSON]) -> JSON {
        ["schema": .string(database), "table": .string(table), "required_table_permissions": .array(needs.map(JSON.string)),
         "required_attribute_permissions": .array(attributes)]
    }
}
