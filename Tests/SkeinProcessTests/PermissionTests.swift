import Foundation
import SkeinCore
import Testing

extension ProcessTests {
    /// Harper's role model end to end: the 403 body, attribute permissions, what describe
    /// shows a role, structure users (10_otherRoleTests.mjs, 5_noSqlRoleTesting.mjs).
    @Suite(.node())
    struct Permissions {
        static func denial(_ r: (status: Int, json: JSON)) -> (unauthorized: [JSON], invalid: [String])? {
            guard r.status == 403, r.json["error"]?.stringValue == PermissionDenial.message,
                  let unauthorized = r.json["unauthorized_access"]?.arrayValue,
                  let invalid = r.json["invalid_schema_items"]?.arrayValue?.compactMap(\.stringValue) else { return nil }
            return (unauthorized, invalid)
        }

        @Test func attributePermissionsGuardWritesReadsAndDescribe() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("perm", "region", primaryKey: "regionid")
            try await node.freshTable("perm", "secret")
            _ = try await node.insert("perm", "region", [["regionid": 1, "regiondescription": "East", "manager": "Ann"]])
            _ = try await node.insert("perm", "secret", [["id": 1, "code": "x"]])
            try await node.ok(["operation": "add_role", "role": "region_clerk", "permission": [
                "super_user": false,
                "perm": ["tables": ["region": [
                    "read": true, "insert": true, "update": false, "delete": false,
                    "attribute_permissions": [["attribute_name": "regiondescription", "read": true, "insert": true, "update": false]],
                ]]],
            ]])
            try await node.ok(["operation": "add_user", "username": "clerk", "password": "clerk-pw", "role": "region_clerk", "active": true])
            func asClerk(_ body: JSON) async throws -> (status: Int, json: JSON) {
                let r = try await node.post(body, user: "clerk", password: "clerk-pw")
                return (r.status, r.json)
            }

            // `*` reads only what the role may read: the listed attribute and the primary key.
            let all = try await asClerk(["operation": "search_by_id", "database": "perm", "table": "region", "ids": [1], "get_attributes": ["*"]])
            #expect(all.status == 200 && all.json.arrayValue?.first?.objectValue?.keys.sorted() == ["regiondescription", "regionid"], "\(all)")
            let none = try await asClerk(["operation": "search_by_value", "database": "perm", "table": "region",
                                          "search_attribute": "regionid", "search_value": 1])
            #expect(none.status == 200 && none.json.arrayValue?.first?.objectValue?.keys.sorted() == ["regiondescription", "regionid"], "\(none)")
            // Naming an attribute the role cannot see: it "does not exist".
            let manager = try await asClerk(["operation": "search_by_id", "database": "perm", "table": "region", "ids": [1],
                                              "get_attributes": ["regionid", "manager"]])
            let hidden = try #require(Self.denial(manager), "\(manager)")
            #expect(hidden.invalid == ["Attribute 'manager' does not exist on 'perm.region'"] && hidden.unauthorized.isEmpty)

            // Inserting a listed attribute (and the key, which borrows its rights) works; another attribute is refused.
            try #require(try await asClerk(["operation": "insert", "database": "perm", "table": "region",
                                            "records": [["regionid": 2, "regiondescription": "West"]]]).status == 200)
            let extra = try await asClerk(["operation": "insert", "database": "perm", "table": "region",
                                           "records": [["regionid": 3, "regiondescription": "North", "manager": "Bob"]]])
            #expect(Self.denial(extra)?.invalid == ["Attribute 'manager' does not exist on 'perm.region'"], "\(extra)")
            // No update right on the table: Harper names the table right, not the attributes.
            let update = try await asClerk(["operation": "update", "database": "perm", "table": "region",
                                            "records": [["regionid": 1, "regiondescription": "x"]]])
            let refused = try #require(Self.denial(update), "\(update)")
            #expect(refused.unauthorized == [["schema": "perm", "table": "region", "required_table_permissions": ["update"],
                                               "required_attribute_permissions": []]])
            #expect(try await node.byID("perm", "region", [1, 3]).map { $0["regiondescription"] } == ["East"], "nothing refused was written")

            // describe shows the tables and attributes the role may use, nothing else.
            let described = try await asClerk(["operation": "describe_all"])
            #expect(described.status == 200 && described.json.objectValue?.keys.contains("system") == false)
            #expect(described.json["perm"]?.objectValue?.keys.sorted() == ["region"], "\(described)")
            let attributes = described.json["perm"]?["region"]?["attributes"]?.arrayValue?.compactMap { $0["attribute"]?.stringValue }.sorted()
            #expect(attributes == ["regiondescription", "regionid"], "\(described)")
            let table = try await asClerk(["operation": "describe_table", "database": "perm", "table": "secret"])
            #expect(Self.denial(table)?.invalid == ["Table 'perm.secret' does not exist"], "\(table)")
            let database = try await asClerk(["operation": "describe_database", "database": "nowhere"])
            #expect(Self.denial(database)?.invalid == ["database 'nowhere' does not exist"], "\(database)")
            let system = try await asClerk(["operation": "describe_table", "database": "system", "table": "hdb_user"])
            #expect(Self.denial(system)?.unauthorized == ["Your role does not have permission to view database metadata for 'system'"], "\(system)")
            let users = try await asClerk(["operation": "search_by_id", "database": "system", "table": "hdb_user", "ids": ["admin"]])
            #expect(Self.denial(users)?.unauthorized == [["schema": "system", "table": "hdb_user", "required_table_permissions": ["read"],
                                                          "required_attribute_permissions": []]], "\(users)")
            let su = try await asClerk(["operation": "list_users"])
            #expect(Self.denial(su)?.unauthorized == ["Operation 'list_users' is restricted to 'super_user' roles"], "\(su)")
        }

        @Test func attributeRightsAreCheckedPerAction() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("perm", "owner")
            _ = try await node.insert("perm", "owner", [["id": 1, "name": "Kim", "city": "Oslo"]])
            try await node.ok(["operation": "add_role", "role": "owner_editor", "permission": [
                "perm": ["tables": ["owner": [
                    "read": true, "insert": false, "update": true, "delete": false,
                    "attribute_permissions": [["attribute_name": "name", "read": false, "insert": false, "update": true],
                                              ["attribute_name": "city", "read": true, "insert": false, "update": false]],
                ]]],
            ]])
            try await node.ok(["operation": "add_user", "username": "editor", "password": "editor-pw", "role": "owner_editor", "active": true])
            let update = try await node.post(["operation": "update", "database": "perm", "table": "owner", "records": [["id": 1, "name": "Lee"]]],
                                             user: "editor", password: "editor-pw")
            #expect(update.status == 200, "\(update)")
            let city = try await node.post(["operation": "update", "database": "perm", "table": "owner", "records": [["id": 1, "city": "Rome"]]],
                                           user: "editor", password: "editor-pw")
            let refused = try #require(Self.denial((city.status, city.json)), "\(city)")
            #expect(refused.unauthorized == [["schema": "perm", "table": "owner", "required_table_permissions": [],
                                               "required_attribute_permissions": [["attribute_name": "city", "required_permissions": ["update"]]]]])
            let read = try await node.post(["operation": "search_by_id", "database": "perm", "table": "owner", "ids": [1], "get_attributes": ["*"]],
                                           user: "editor", password: "editor-pw")
            #expect(read.status == 200 && read.json.arrayValue?.first?.objectValue?.keys.sorted() == ["city", "id"], "\(read)")
            let stored = try await node.byID("perm", "owner", [1]).first
            #expect(stored?["city"] == "Oslo" && stored?["name"] == "Lee", "\(String(describing: stored))")
        }

        /// A CSV load's header columns are checked like an insert's record keys (Harper's
        /// `verifyBulkLoadAttributePerms`): the job ends in ERROR with the 403 body as its
        /// message, and writes nothing.
        @Test func csvLoadsCheckTheHeadersAttributeRights() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("perm", "breed")
            _ = try await node.insert("perm", "breed", [["id": 1, "name": "Pointer", "section": "Gundog", "country": "UK"]])
            try await node.ok(["operation": "add_role", "role": "breed_loader", "permission": [
                "perm": ["tables": ["breed": [
                    "read": true, "insert": true, "update": true, "delete": false,
                    "attribute_permissions": [["attribute_name": "name", "read": true, "insert": true, "update": false],
                                              ["attribute_name": "section", "read": true, "insert": false, "update": true]],
                ]]],
            ]])
            try await node.ok(["operation": "add_user", "username": "breeder", "password": "breeder-pw", "role": "breed_loader", "active": true])
            func load(_ csv: String, _ action: String) async throws -> JSON {
                let r = try await node.post(["operation": "csv_data_load", "action": .string(action), "database": "perm", "table": "breed",
                                             "data": .string(csv)], user: "breeder", password: "breeder-pw")
                let id = try #require(r.json["job_id"]?.stringValue, "\(r.status) \(r.json)")
                return try await node.finishedJob(id)
            }
            let upsert = try await load("id,name,section,country\n2,Setter,Gundog,IE\n", "upsert")
            #expect(upsert["status"] == "ERROR", "\(upsert)")
            let refused = try #require(Self.denial((403, upsert["message"] ?? .null)), "\(upsert)")
            #expect(refused.unauthorized == [["schema": "perm", "table": "breed", "required_table_permissions": [],
                                               "required_attribute_permissions": [
                                                   ["attribute_name": "name", "required_permissions": ["update"]],
                                                   ["attribute_name": "section", "required_permissions": ["insert"]]]]], "\(upsert)")
            #expect(refused.invalid == ["Attribute 'country' does not exist on 'perm.breed'"], "\(upsert)")
            #expect(try await node.byID("perm", "breed", [2]).isEmpty, "a refused load writes nothing")

            let insert = try await load("id,name\n3,Terrier\n", "insert")
            #expect(insert["status"] == "COMPLETE", "the columns the role may insert load: \(insert)")
            #expect(try await node.byID("perm", "breed", [3]).first?["name"] == "Terrier")
        }

        @Test func structureUsersShapeTheirDatabasesOnly() async throws {
            let node = try TestNode.shared()
            try await node.ok(["operation": "create_database", "database": "shaped"])
            try await node.ok(["operation": "create_database", "database": "unshaped"])
            try await node.ok(["operation": "add_role", "role": "shaper", "permission": ["structure_user": ["shaped"]]])
            try await node.ok(["operation": "add_user", "username": "shaper", "password": "shaper-pw", "role": "shaper", "active": true])
            func asShaper(_ body: JSON) async throws -> (status: Int, json: JSON) {
                let r = try await node.post(body, user: "shaper", password: "shaper-pw")
                return (r.status, r.json)
            }
            #expect(try await asShaper(["operation": "create_table", "database": "shaped", "table": "made", "primary_key": "id"]).status == 200)
            #expect(try await asShaper(["operation": "insert", "database": "shaped", "table": "made", "records": [["id": 1]]]).status == 200,
                    "a structure user may use the tables of its databases")
            let elsewhere = try await asShaper(["operation": "create_table", "database": "unshaped", "table": "made", "primary_key": "id"])
            #expect(Self.denial(elsewhere)?.unauthorized == ["User does not have access to perform 'create_table' against schema 'unshaped'"],
                    "\(elsewhere)")
            let database = try await asShaper(["operation": "create_database", "database": "another"])
            #expect(Self.denial(database)?.unauthorized == ["Operation 'create_database' is restricted to 'super_user' roles"], "\(database)")
            #expect(try await asShaper(["operation": "drop_table", "database": "shaped", "table": "made"]).status == 200)
        }
    }
}
