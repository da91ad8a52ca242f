import Foundation
import SkeinCore
import Testing

extension ProcessTests {
    /// Harper's role ids: `add_role` answers the role's `id`, `alter_role` finds a role by it
    /// and may rename it, and users (who hold the id) keep their rights, on every node.
    @Suite(.serialized) struct RoleRename {
        @Test func aRenamedRoleKeepsItsUsersOnBothNodes() async throws {
            try await withReplicatingPair { a, b in
                try await a.node.ok(["operation": "create_table", "database": "data", "table": "kennel", "primary_key": "id"])
                func permission(insert: Bool) -> JSON { ["data": ["tables": ["kennel": ["read": true, "insert": .bool(insert)]]]] }
                let added = try await a.node.ok(["operation": "add_role", "role": "walker", "permission": permission(insert: false)])
                #expect(added["id"] == "walker" && added["role"] == "walker", "\(added)")
                try await a.node.ok(["operation": "add_user", "username": "kim", "password": "kim-pw", "role": "walker", "active": true])
                func asKim(_ peer: Peer, _ body: JSON) async throws -> Int { try await peer.node.post(body, user: "kim", password: "kim-pw").status }
                let insert: JSON = ["operation": "insert", "database": "data", "table": "kennel", "records": [["id": 1]]]
                _ = try await pollUntil("kim reads on node-b") { () -> Bool? in
                    try await asKim(b, ["operation": "search_by_id", "database": "data", "table": "kennel", "ids": [1]]) == 200 ? true : nil
                }
                #expect(try await asKim(b, insert) == 403, "the role does not allow inserts yet")

                let altered = try await a.node.ok(["operation": "alter_role", "id": "walker", "role": "dog_walker",
                                                   "permission": permission(insert: true)])
                #expect(altered["id"] == "walker" && altered["role"] == "dog_walker", "\(altered)")
                let roles = try await a.node.ok(["operation": "list_roles"])
                #expect(roles.column("role").contains("dog_walker") && !roles.column("role").contains("walker"), "\(roles)")
                #expect(roles.arrayValue?.first { $0["role"] == "dog_walker" }?["id"] == "walker", "the id stays: \(roles)")
                #expect(roles.arrayValue?.first { $0["role"] == "super_user" }?["id"] == "super_user",
                        "a role stored without an id has its name as id: \(roles)")

                // Replicated: on node-b the renamed role, with its new rights, is kim's.
                _ = try await pollUntil("the renamed role on node-b", timeout: 30) { () -> Bool? in
                    try await b.node.ok(["operation": "list_roles"]).column("role").contains("dog_walker") ? true : nil
                }
                #expect(try await asKim(a, insert) == 200, "kim's role follows the rename on node-a")
                _ = try await pollUntil("kim inserts on node-b") { () -> Bool? in
                    try await asKim(b, ["operation": "insert", "database": "data", "table": "kennel", "records": [["id": 2]]]) == 200 ? true : nil
                }
                let info = try await b.node.post(["operation": "user_info"], user: "kim", password: "kim-pw")
                #expect(info.json["role"]?["role"] == "dog_walker", "\(info)")
                let kim = try await b.node.ok(["operation": "list_users"]).arrayValue?.first { $0["username"] == "kim" }
                #expect(kim?["role"]?["role"] == "dog_walker" && kim?["role"]?["id"] == "walker", "\(String(describing: kim))")

                // The id and the new name are taken; the old name is free; the role is in use.
                try await a.node.fails(["operation": "add_role", "role": "dog_walker", "permission": permission(insert: false)], 409)
                try await a.node.fails(["operation": "alter_role", "id": "nobody", "role": "x", "permission": permission(insert: false)], 400)
                let inUse = try await a.node.fails(["operation": "drop_role", "id": "walker"], 409)
                #expect(inUse == "Cannot drop role dog_walker as it has active user(s) tied to this role")
                let sitter = try await a.node.ok(["operation": "add_role", "role": "sitter", "id": "sitter-1", "permission": permission(insert: false)])
                #expect(sitter["id"] == "sitter-1")
                let renamedBack = try await a.node.fails(["operation": "alter_role", "id": "sitter-1", "role": "dog_walker",
                                                          "permission": permission(insert: false)], 409)
                #expect(renamedBack == "A role with name 'dog_walker' already exists")
            }
        }
    }
}
