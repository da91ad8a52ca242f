import SkeinCore
import Testing

/// Harper's role translation (`permissionsTranslator.js`) and checks
/// (`operation_authorization.js`), without a node.
@Suite struct RolePermissionTests {
    /// The role of Harper's 10_otherRoleTests.mjs, abridged.
    static let role = RolePermission([
        "super_user": false,
        "northnwd": ["tables": [
            "region": ["read": true, "insert": true, "update": false, "delete": false,
                       "attribute_permissions": [["attribute_name": "regiondescription", "read": true, "insert": true, "update": false]]],
            "territories": ["read": true, "insert": false, "update": false, "delete": false, "attribute_permissions": []],
            "products": ["read": false, "insert": false, "update": false, "delete": false,
                         "attribute_permissions": [["attribute_name": "discontinued", "read": false, "insert": false, "update": false]]],
        ]],
    ])

    @Test func tablesAreVisibleWhenTheRoleMayUseThem() {
        #expect(Self.role.describes("northnwd", "region"))
        #expect(Self.role.describes("northnwd", "territories"))
        #expect(!Self.role.describes("northnwd", "products"), "no right at all: the table is hidden")
        #expect(!Self.role.describes("other"))
        #expect(PermissionDenial.check(Self.role, database: "northnwd", table: "products", needs: ["read"])?.invalid
                == ["Table 'northnwd.products' does not exist"])
        #expect(PermissionDenial.check(Self.role, database: "other", table: "x", needs: ["read"])?.invalid == ["database 'other' does not exist"])
    }

    @Test func tableRightsNameWhatIsMissing() {
        #expect(PermissionDenial.check(Self.role, database: "northnwd", table: "territories", needs: ["read"]) == nil)
        let denial = PermissionDenial.check(Self.role, database: "northnwd", table: "territories", needs: ["insert", "update"])
        #expect(denial?.unauthorized == [["schema": "northnwd", "table": "territories", "required_table_permissions": ["insert", "update"],
                                          "required_attribute_permissions": []]])
        #expect(denial?.error.status == 403 && denial?.error.body["invalid_schema_items"] == [])
    }

    @Test func thePrimaryKeyBorrowsTheListedRights() {
        let region = Self.role.table("northnwd", "region")!
        #expect(region.attribute("regionid", hashAttribute: "regionid") == .init(read: true, insert: true, update: false))
        #expect(region.attribute("other", hashAttribute: "regionid") == .init(read: false, insert: false, update: false))
        #expect(region.readableAttributes(hashAttribute: "regionid") == ["regiondescription", "regionid"])
        #expect(Self.role.table("northnwd", "territories")!.readableAttributes(hashAttribute: "id") == nil, "an empty list: every attribute")
        let denial = PermissionDenial.checkAttributes(region, database: "northnwd", table: "region", needs: ["update"],
                                                      attributes: ["regionid", "regiondescription", "secret"], hashAttribute: "regionid")
        #expect(denial?.invalid == ["Attribute 'secret' does not exist on 'northnwd.region'"])
        #expect(denial?.unauthorized == [["schema": "northnwd", "table": "region", "required_table_permissions": [],
                                          "required_attribute_permissions": [
                                              ["attribute_name": "regionid", "required_permissions": ["update"]],
                                              ["attribute_name": "regiondescription", "required_permissions": ["update"]]]]])
    }

    @Test func timestampsCanOnlyBeRead() {
        let role = RolePermission(["db": ["tables": ["t": ["read": true, "insert": true, "update": true, "delete": false,
            "attribute_permissions": [["attribute_name": "__createdtime__", "read": true, "insert": true, "update": true]]]]]])
        #expect(role.table("db", "t")!.attribute("__createdtime__", hashAttribute: "id") == .init(read: true, insert: false, update: false))
    }

    @Test func structureUsersAndSuperUsers() {
        let some = RolePermission(["structure_user": ["a"]])
        #expect(some.structure == .databases(["a"]) && some.structures("a") && !some.structures("b"))
        #expect(some.table("a", "anything") == .everything && some.table("b", "x") == nil)
        #expect(RolePermission(["structure_user": true]).structure == .all)
        let su = RolePermission(["super_user": true])
        #expect(PermissionDenial.check(su, database: "system", table: "hdb_user", needs: ["delete"]) == nil)
        #expect(PermissionDenial.check(Self.role, database: "system", table: "hdb_user", needs: ["read"])?.unauthorized.count == 1)
    }

    @Test func requestAttributes() throws {
        let insert = OperationRequest(body: ["records": [["id": 1, "b": 2], ["c": 3]], "get_attributes": ["ignored"]])
        #expect(RequestAttributes.named(in: insert) == ["b", "id", "c"])
        let search = OperationRequest(body: ["search_attribute": "a", "get_attributes": ["*", "d"],
                                             "conditions": [["search_attribute": "e"], ["conditions": [["attribute": "f"]]]]])
        #expect(RequestAttributes.named(in: search) == ["a", "e", "f", "d"])
    }

    static var check: RolePermissionCheck { RolePermissionCheck(databaseExists: { ["dev", "other"].contains($0) }) { database, table in
        database == "dev" && table == "dog" ? ["id", "name", "age"] : nil
    } }

    static func errors(_ permission: JSON) -> (main: [JSON], tables: [String: JSON])? {
        do {
            try check.validate(permission)
            return nil
        } catch {
            guard error.status == 400, error.message == RolePermissionCheck.message else { return ([.string(error.message)], [:]) }
            return (error.body["main_permissions"]?.arrayValue ?? [], error.body["schema_permissions"]?.objectValue ?? [:])
        }
    }

    @Test func rolesAreCheckedAsHarperChecksThem() {
        #expect(Self.errors(["super_user": true]) == nil)
        #expect(Self.errors(["dev": ["tables": ["dog": ["read": true, "attribute_permissions": [["attribute_name": "name", "read": true]]]]]]) == nil,
                "left-out table rights mean false (Harper insists on every key)")
        #expect(Self.errors(["super_user": true, "cluster_user": true])?.main
                == ["Roles cannot have both 'super_user' and 'cluster_user' values included in their permissions set."])
        #expect(Self.errors(["cluster_user": true, "dev": ["tables": [:]]])?.main
                == ["Roles with 'cluster_user' set to true cannot have other permissions set."])
        #expect(Self.errors(["super_user": "yes"])?.main == ["Value for 'super_user' permission must be a boolean"])
        #expect(Self.errors(["structure_user": 3])?.main == ["Value for 'structure_user' permission must be a boolean or Array"])
        #expect(Self.errors(["structure_user": ["dev", "nowhere"]])?.main == ["database 'nowhere' does not exist"])
        #expect(Self.errors(["nowhere": ["tables": [:]]])?.main == ["database 'nowhere' does not exist"])
        #expect(Self.errors(["dev": ["tables": ["cat": ["read": true]]]])?.main == ["Table 'dev.cat' does not exist"])
        let table = Self.errors(["dev": ["tables": ["dog": [
            "read": "yes", "insert": false, "fly": true,
            "attribute_permissions": [["attribute_name": "wings", "read": true], ["attribute_name": "name", "insert": true, "color": 1], ["read": true]],
        ]]]])
        #expect(table?.main == [])
        #expect(table?.tables["dev_dog"] == [
            "Invalid table permission key value 'fly'", "Table READ permission must be a boolean",
            "Invalid attribute 'wings' in 'attribute_permissions'", "Invalid attribute permission key value 'color'",
            "Permission object in 'attribute_permission' missing an 'attribute_name'",
            "You have a conflict with TABLE permissions for 'dev.dog' being false and ATTRIBUTE permissions being true",
        ])
    }
}
