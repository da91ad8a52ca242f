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
}
