import Foundation
import SkeinCore
import Testing

extension ProcessTests {
    /// Users, roles and authentication. Each test uses its own user and role names.
    @Suite(.node())
    struct Users {
        @Test func addListAlterDrop() async throws {
            let node = try TestNode.shared()
            let r = try await node.ok(["operation": "add_user", "username": "alice", "password": "alice-pw-1", "role": "super_user", "active": true])
            #expect(r["message"]?.stringValue == "alice successfully added")
            // Harper: 409 "User test_user already exists" (6_sqlRoleTesting.mjs:158-168).
            let duplicate = try await node.fails(["operation": "add_user", "username": "alice", "password": "x", "role": "super_user"], 409)
            #expect(duplicate == "User alice already exists")

            let users = try #require(try await node.ok(["operation": "list_users"]).arrayValue)
            let alice = try #require(users.first { $0["username"]?.stringValue == "alice" })
            #expect(users.contains { $0["username"]?.stringValue == node.adminUser })
            #expect(users.allSatisfy { $0["password"] == nil }, "list_users must not show password hashes")
            #expect(alice["active"]?.boolValue == true)
            #expect(alice["role"]?["role"]?.stringValue == "super_user")

            #expect(try await node.post(["operation": "user_info"], user: "alice", password: "alice-pw-1").status == 200)
            try await node.ok(["operation": "alter_user", "username": "alice", "password": "alice-pw-2"])
            #expect(try await node.post(["operation": "user_info"], user: "alice", password: "alice-pw-2").status == 200)
            #expect(try await node.post(["operation": "user_info"], user: "alice", password: "alice-pw-1").status == 401)

            let dropped = try await node.ok(["operation": "drop_user", "username": "alice"])
            // Harper: "test_user successfully deleted" (10_otherRoleTests.mjs:319).
            #expect(dropped["message"]?.stringValue == "alice successfully deleted")
            #expect(try await node.post(["operation": "user_info"], user: "alice", password: "alice-pw-2").status == 401)
            let after = try await node.ok(["operation": "list_users"])
            #expect(!after.column("username").contains("alice"))
        }

        @Test func inactiveUserCannotLogIn() async throws {
            let node = try TestNode.shared()
            try await node.ok(["operation": "add_user", "username": "ivan", "password": "ivan-pw", "role": "super_user", "active": true])
            #expect(try await node.post(["operation": "user_info"], user: "ivan", password: "ivan-pw").status == 200)
            try await node.ok(["operation": "alter_user", "username": "ivan", "active": false])
            #expect(try await node.post(["operation": "user_info"], user: "ivan", password: "ivan-pw").status == 401)
        }

        @Test func rolePermissionsOnTables() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("dev", "dog")
            try await node.freshTable("dev", "cat")
            _ = try await node.insert("dev", "dog", [["id": 1, "name": "Rex"]])
            let permission: JSON = ["super_user": false,
                                    "dev": ["tables": ["dog": ["read": true, "insert": false, "update": false, "delete": false]]]]
            let role = try await node.ok(["operation": "add_role", "role": "dog_reader", "permission": permission])
            #expect(role["role"]?.stringValue == "dog_reader")
            let roles = try await node.ok(["operation": "list_roles"])
            #expect(roles.column("role").contains("dog_reader"))
            try await node.ok(["operation": "add_user", "username": "reader", "password": "reader-pw", "role": "dog_reader", "active": true])

            func asReader(_ body: JSON) async throws -> (status: Int, json: JSON) {
                try await node.post(body, user: "reader", password: "reader-pw")
            }
            let search = try await asReader(["operation": "search_by_id", "database": "dev", "table": "dog", "ids": [1], "get_attributes": ["*"]])
            #expect(search.status == 200)
            #expect(search.json.ids() == [1])
            let byValue = try await asReader(["operation": "search_by_value", "database": "dev", "table": "dog", "attribute": "name", "value": "Rex"])
            #expect(byValue.status == 200)
            #expect(try await asReader(["operation": "describe_table", "database": "dev", "table": "dog"]).status == 200)

            for body: JSON in [
                ["operation": "insert", "database": "dev", "table": "dog", "records": [["id": 2]]],
                ["operation": "update", "database": "dev", "table": "dog", "records": [["id": 1, "name": "x"]]],
                ["operation": "upsert", "database": "dev", "table": "dog", "records": [["id": 3]]],
                ["operation": "delete", "database": "dev", "table": "dog", "ids": [1]],
                ["operation": "search_by_id", "database": "dev", "table": "cat", "ids": [1]],
                ["operation": "create_table", "database": "dev", "table": "bird"],
                ["operation": "drop_table", "database": "dev", "table": "dog"],
                ["operation": "list_users"],
                ["operation": "read_audit_log", "database": "dev", "table": "dog"],
                ["operation": "search_by_id", "database": "system", "table": "hdb_user", "ids": ["admin"]],
            ] {
                let r = try await asReader(body)
                #expect(r.status == 403, "\(body) → \(r.status) \(r.json)")
                #expect(r.json["error"]?.stringValue == PermissionDenial.message, "\(body) → \(r.json)")
            }
            // Nothing changed.
            #expect(try await node.byID("dev", "dog", [1, 2, 3]).ids() == [1])
            #expect(try await node.byID("dev", "dog", [1]).first?["name"]?.stringValue == "Rex")
            try await node.fails(["operation": "describe_table", "database": "dev", "table": "bird"], 404)

            let info = try await asReader(["operation": "user_info"])
            #expect(info.status == 200)
            #expect(info.json["username"]?.stringValue == "reader")
            #expect(info.json["role"]?["role"]?.stringValue == "dog_reader")
            #expect(info.json["role"]?["permission"]?["dev"]?["tables"]?["dog"]?["read"]?.boolValue == true)

            // Harper (security/role.js): 409 while an active user has the role.
            let inUse = try await node.fails(["operation": "drop_role", "role": "dog_reader"], 409)
            #expect(inUse == "Cannot drop role dog_reader as it has active user(s) tied to this role")
            try await node.ok(["operation": "drop_user", "username": "reader"])
            // Harper: "test_dev_role successfully deleted" (10_otherRoleTests.mjs:326), with the role as `id`.
            let droppedRole = try await node.ok(["operation": "drop_role", "id": "dog_reader"])
            #expect(droppedRole["message"]?.stringValue == "dog_reader successfully deleted")
            #expect(!(try await node.ok(["operation": "list_roles"])).column("role").contains("dog_reader"))
            // Harper: "Role not found" (10_otherRoleTests.mjs:2293).
            #expect(try await node.fails(["operation": "drop_role", "role": "dog_reader"], 404) == "Role not found")
        }

        @Test func alterUserRoleChangesPermissions() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("dev", "owl")
            try await node.ok(["operation": "add_role", "role": "owl_reader",
                               "permission": ["dev": ["tables": ["owl": ["read": true, "insert": false, "update": false, "delete": false]]]]])
            // A colon in a password is fine: only the first one separates the user name.
            try await node.ok(["operation": "add_user", "username": "olga", "password": "pw:with:colons", "role": "owl_reader", "active": true])
            let insert: JSON = ["operation": "insert", "database": "dev", "table": "owl", "records": [["id": 1]]]
            #expect(try await node.post(insert, user: "olga", password: "pw:with:colons").status == 403)
            try await node.fails(["operation": "alter_user", "username": "olga", "role": "no_such_role"], 404)
            try await node.ok(["operation": "alter_user", "username": "olga", "role": "super_user"])
            #expect(try await node.post(insert, user: "olga", password: "pw:with:colons").status == 200)
            let info = try await node.post(["operation": "user_info"], user: "olga", password: "pw:with:colons")
            #expect(info.json["role"]?["role"]?.stringValue == "super_user")
            try await node.ok(["operation": "alter_user", "username": "olga", "role": "owl_reader"])
            #expect(try await node.post(["operation": "delete", "database": "dev", "table": "owl", "ids": [1]],
                                        user: "olga", password: "pw:with:colons").status == 403)
        }

        /// Harper's alter_role (security/role.js alterRole; 10_otherRoleTests.mjs:2225-2260 "alter_role
        /// good data", 5_noSqlRoleTesting.mjs:443): `{id, permission}` replaces the permission and
        /// answers the role; the gateway's cached users see it on their next request.
        @Test func alterRoleChangesPermissionsAtOnce() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("dev", "emu")
            func permission(insert: Bool) -> JSON {
                ["super_user": false, "dev": ["tables": ["emu": ["read": true, "insert": .bool(insert), "update": false, "delete": false]]]]
            }
            try await node.ok(["operation": "add_role", "role": "emu_writer", "permission": permission(insert: false)])
            try await node.ok(["operation": "add_user", "username": "edna", "password": "edna-pw", "role": "emu_writer", "active": true])
            let insert: JSON = ["operation": "insert", "database": "dev", "table": "emu", "records": [["id": 1]]]
            #expect(try await node.post(insert, user: "edna", password: "edna-pw").status == 403)

            let altered = try await node.ok(["operation": "alter_role", "id": "emu_writer", "role": "emu_writer",
                                             "permission": permission(insert: true)])
            #expect(altered["id"]?.stringValue == "emu_writer")
            #expect(altered["role"]?.stringValue == "emu_writer")
            #expect(altered["permission"]?["dev"]?["tables"]?["emu"]?["insert"]?.boolValue == true)
            #expect(try await node.post(insert, user: "edna", password: "edna-pw").status == 200, "the cached user must see the new permission")
            let listed = try await node.ok(["operation": "list_roles"]).arrayValue?.first { $0["role"]?.stringValue == "emu_writer" }
            #expect(listed?["permission"] == permission(insert: true))

            // Harper: an alter_role that updates no role is 400 'Invalid role id' (security/role.js:124-125).
            let missing = try await node.fails(["operation": "alter_role", "id": "no_such_role", "permission": ["super_user": false]], 400)
            #expect(missing == "Invalid role id")
            try await node.fails(["operation": "alter_role", "id": "emu_writer"], 400)
            try await node.fails(["operation": "alter_role", "id": "super_user", "permission": ["super_user": false]], 400)
        }

        @Test func userInfoOfAdmin() async throws {
            let node = try TestNode.shared()
            let info = try await node.ok(["operation": "user_info"])
            #expect(info["username"]?.stringValue == node.adminUser)
            #expect(info["role"]?["role"]?.stringValue == "super_user")
            #expect(info["password"] == nil)
        }

        @Test func badCredentialsAre401() async throws {
            let node = try TestNode.shared()
            let body: JSON = ["operation": "describe_all"]
            let cases: [(String, (status: Int, json: JSON))] = [
                ("no credentials", try await node.post(body, user: nil)),
                ("wrong password", try await node.post(body, user: node.adminUser, password: "wrong")),
                ("unknown user", try await node.post(body, user: "nobody-here", password: "x")),
                ("empty password", try await node.post(body, user: node.adminUser, password: "")),
            ]
            for (name, r) in cases {
                #expect(r.status == 401, "\(name): \(r.status) \(r.json)")
                #expect(r.json["error"]?.stringValue != nil, "\(name): \(r.json)")
            }
            for header in ["Bearer abc", "Basic !!!notbase64", "Basic " + Data("no-colon".utf8).base64EncodedString()] {
                let (status, data) = try await node.postRaw(body.serialized(), headers: ["Content-Type": "application/json", "Authorization": header])
                #expect(status == 401, "\(header): \(status)")
                #expect(TestNode.parse(data)["error"]?.stringValue != nil)
            }
        }

        @Test func userAndRoleErrors() async throws {
            let node = try TestNode.shared()
            try await node.fails(["operation": "add_user", "username": "nopw", "role": "super_user"], 400)
            try await node.fails(["operation": "add_user", "username": "norole", "password": "pw", "role": "no_such_role"], 404)
            try await node.fails(["operation": "drop_user", "username": "ghost"], 404)
            try await node.fails(["operation": "alter_user", "username": "ghost", "password": "pw"], 404)
            try await node.fails(["operation": "drop_role", "role": "super_user"], 400)
            try await node.fails(["operation": "add_role", "role": "noperm"], 400)
            try await node.ok(["operation": "add_role", "role": "twice", "permission": ["super_user": false]])
            // Harper: 409 "A role with name 'test_dev_role' already exists" (10_otherRoleTests.mjs:2110-2114).
            let twice = try await node.fails(["operation": "add_role", "role": "twice", "permission": ["super_user": false]], 409)
            #expect(twice == "A role with name 'twice' already exists")
            // None of the failed requests created anything.
            let users = try await node.ok(["operation": "list_users"]).column("username")
            #expect(!users.contains("nopw") && !users.contains("norole") && !users.contains("ghost"))
        }
    }
}
