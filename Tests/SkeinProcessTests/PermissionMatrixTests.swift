import SkeinCore
import Testing

extension ProcessTests {
    /// Every table right against every data operation, and every attribute right against
    /// the operations that name attributes: a request is answered only when the role holds
    /// what it needs (Harper's `operation_authorization.js`), and a refused write leaves the
    /// table as it was.
    @Suite(.node(), .serialized)
    struct PermissionMatrix {
        static let rights = ["read", "insert", "update", "delete"]

        /// The request for `right` on `perm_m.grid`, naming `attribute` (besides the key).
        static func request(_ right: String, attribute: String, id: Int) -> JSON {
            let base: [String: JSON] = ["database": "perm_m", "table": "grid"]
            var body = base
            switch right {
            case "read":
                body["operation"] = "search_by_id"
                body["ids"] = [.number(Double(id))]
                body["get_attributes"] = ["id", .string(attribute)]
            case "insert":
                body["operation"] = "insert"
                body["records"] = [["id": .number(Double(id + 1000)), attribute: "new"]]
            case "update":
                body["operation"] = "update"
                body["records"] = [["id": .number(Double(id)), attribute: "changed"]]
            default:
                body["operation"] = "delete"
                body["ids"] = [.number(Double(id))]
            }
            return .object(body)
        }

        static func seed(_ node: TestNode) async throws {
            try await node.freshTable("perm_m", "grid")
            _ = try await node.insert("perm_m", "grid", (1...40).map { ["id": .number(Double($0)), "open": "o", "shut": "s"] })
        }

        /// A role with one table right (or none), every attribute open to it.
        @Test func eachTableRightAllowsItsOperationsOnly() async throws {
            let node = try TestNode.shared()
            try await Self.seed(node)
            var id = 0
            for granted in Self.rights + ["none"] {
                let role = "grid_\(granted)"
                var table: [String: JSON] = [:]
                for right in Self.rights { table[right] = .bool(right == granted) }
                try await node.ok(["operation": "add_role", "role": .string(role), "permission": ["perm_m": ["tables": ["grid": .object(table)]]]])
                try await node.ok(["operation": "add_user", "username": .string(role), "password": "pw-grid", "role": .string(role), "active": true])
                for right in Self.rights {
                    id += 1
                    let r = try await node.post(Self.request(right, attribute: "open", id: id), user: role, password: "pw-grid")
                    if right == granted {
                        #expect(r.status == 200, "\(role) may \(right): \(r)")
                    } else if granted == "none" {
                        // A table the role has no right on is not there for it, nor its database (Harper's describe flags).
                        let denial = try #require(ProcessTests.Permissions.denial(r), "\(role) may not \(right): \(r)")
                        #expect(denial.invalid == ["database 'perm_m' does not exist"] && denial.unauthorized.isEmpty, "\(role) \(right): \(r)")
                    } else {
                        let denial = try #require(ProcessTests.Permissions.denial(r), "\(role) may not \(right): \(r)")
                        #expect(denial.unauthorized == [["schema": "perm_m", "table": "grid", "required_table_permissions": [.string(right)],
                                                         "required_attribute_permissions": []]], "\(role) \(right): \(r)")
                    }
                }
            }
            // What was refused left no trace: 4 roles x 4 rights, one write of each kind allowed.
            let count = try await node.ok(["operation": "describe_table", "database": "perm_m", "table": "grid"])["record_count"]
            #expect(count == 40, "40 seeded + 1 allowed insert - 1 allowed delete: \(String(describing: count))")
            #expect(try await node.byID("perm_m", "grid", [11]).first?["open"] == "changed", "grid_update's update")
            #expect(try await node.byID("perm_m", "grid", [3, 7]).map { $0["open"] } == ["o", "o"], "updates refused to other roles")
            #expect(try await node.byID("perm_m", "grid", [4, 8, 16]).ids() == [4, 8], "only grid_delete deleted")
            #expect(try await node.byID("perm_m", "grid", [1002, 1006, 1010]).ids() == [1006], "only grid_insert inserted")
        }

        /// Every table right granted; `open` may be used for everything, `shut` only for
        /// the one attribute right each role has.
        @Test func eachAttributeRightAllowsItsOperationsOnly() async throws {
            let node = try TestNode.shared()
            try await Self.seed(node)
            var id = 0
            for granted in ["read", "insert", "update"] {
                let role = "cell_\(granted)"
                var shut: [String: JSON] = ["attribute_name": "shut"]
                for right in ["read", "insert", "update"] { shut[right] = .bool(right == granted) }
                try await node.ok(["operation": "add_role", "role": .string(role), "permission": ["perm_m": ["tables": ["grid": [
                    "read": true, "insert": true, "update": true, "delete": true,
                    "attribute_permissions": [["attribute_name": "open", "read": true, "insert": true, "update": true], .object(shut)],
                ]]]]])
                try await node.ok(["operation": "add_user", "username": .string(role), "password": "pw-cell", "role": .string(role), "active": true])
                for right in Self.rights {
                    for attribute in ["open", "shut"] {
                        id += 1
                        let r = try await node.post(Self.request(right, attribute: attribute, id: id), user: role, password: "pw-cell")
                        // Delete names no attribute: the table right is all it needs.
                        if attribute == "open" || right == granted || right == "delete" {
                            #expect(r.status == 200, "\(role) \(right) \(attribute): \(r)")
                        } else {
                            let denial = try #require(ProcessTests.Permissions.denial(r), "\(role) \(right) \(attribute): \(r)")
                            #expect(denial.unauthorized == [["schema": "perm_m", "table": "grid", "required_table_permissions": [],
                                                             "required_attribute_permissions": [["attribute_name": "shut",
                                                                                                 "required_permissions": [.string(right)]]]]],
                                    "\(role) \(right) \(attribute): \(r)")
                        }
                    }
                }
                // `*` reads every attribute the role may read, and no other.
                let all = try await node.post(["operation": "search_by_id", "database": "perm_m", "table": "grid", "ids": [40], "get_attributes": ["*"]],
                                              user: role, password: "pw-cell")
                let keys = all.json.arrayValue?.first?.objectValue?.keys.sorted()
                #expect(keys == (granted == "read" ? ["id", "open", "shut"] : ["id", "open"]), "\(role): \(all)")
            }
            // The refused updates of `shut` left it as seeded.
            let rows = try await node.byID("perm_m", "grid", (1...24).map { .number(Double($0)) })
            let changedShut = rows.filter { $0["shut"] == "changed" }.ids()
            #expect(changedShut == [22], "only cell_update's update of shut went through: \(changedShut)")
        }
    }
}
