import Foundation
import SkeinCore
import Testing

/// One bad request and the 4xx it must get.
struct MalformedRequest: Sendable, CustomTestStringConvertible {
    enum Body: Sendable {
        case json(JSON)
        case raw([UInt8])
    }
    let name: String
    let body: Body
    let status: Int
    var testDescription: String { "\(name) → \(status)" }

    init(_ name: String, _ status: Int, _ json: JSON) {
        self.name = name
        self.body = .json(json)
        self.status = status
    }

    init(_ name: String, _ status: Int, raw: String) {
        self.name = name
        self.body = .raw(Array(raw.utf8))
        self.status = status
    }

    static func op(_ operation: String, _ fields: [String: JSON] = [:]) -> JSON {
        var o = fields
        o["operation"] = .string(operation)
        return .object(o)
    }

    static func dog(_ operation: String, _ fields: [String: JSON] = [:]) -> JSON {
        var o = fields
        o["database"] = o["database"] ?? "mal"
        o["table"] = o["table"] ?? "dog"
        return op(operation, o)
    }

    static func cond(_ c: JSON, _ extra: [String: JSON] = [:]) -> JSON {
        var o: [String: JSON] = ["conditions": [c]]
        for (k, v) in extra { o[k] = v }
        return dog("search_by_conditions", o)
    }

    static let all: [MalformedRequest] = [
        // Not a JSON object.
        .init("bad JSON", 400, raw: #"{"operation": "describe_all","#),
        .init("JSON array body", 400, raw: #"[{"operation": "describe_all"}]"#),
        .init("JSON string body", 400, raw: #""describe_all""#),
        .init("empty body", 400, raw: ""),
        .init("trailing garbage", 400, raw: #"{"operation": "describe_all"} x"#),
        .init("invalid JSON inside records", 400, raw: #"{"operation":"insert","database":"mal","table":"dog","records":[{"id":10,"x":tru}]}"#),
        .init("nesting too deep", 400, raw: #"{"operation":"insert","database":"mal","table":"dog","records":[{"id":10,"x":"#
            + String(repeating: "[", count: 300) + String(repeating: "]", count: 300) + "}]}"),
        // The operation.
        .init("missing operation", 400, ["database": "mal"]),
        .init("operation not a string", 400, ["operation": 5]),
        .init("operation null", 400, ["operation": nil]),
        .init("unknown operation", 400, op("make_coffee")),
        .init("add_node without a node", 400, op("add_node", ["verify_tls": true])),
        .init("add_node with an http url", 400, op("add_node", ["url": "http://node-x:9933"])),
        .init("add_node with a bad port", 400, op("add_node", ["hostname": "node-x", "port": 70000])),
        .init("add_node with a bad start_time", 400, op("add_node", ["hostname": "node-x", "start_time": "yesterday"])),
        .init("remove_node without a node", 400, op("remove_node", [:])),
        .init("cluster_set_routes with one bad route", 400, op("cluster_set_routes", ["routes": [["hostname": "node-x"], ["hostname": "a b"]]])),
        .init("configure_cluster without connections", 400, op("configure_cluster", ["connections": "node-x"])),
        // Names.
        .init("missing table", 400, op("insert", ["database": "mal", "records": [["id": 10]]])),
        .init("table not a string", 400, dog("insert", ["table": 5, "records": [["id": 10]]])),
        .init("database not a string", 400, dog("search_by_id", ["database": ["mal"], "ids": [1]])),
        .init("nonexistent database", 404, dog("search_by_id", ["database": "no_such_db", "ids": [1]])),
        // Harper: a write to a missing database or table is 400 (2_dataLoad.mjs:425-426, 437-438).
        .init("insert into nonexistent database", 400, dog("insert", ["database": "no_such_db", "records": [["id": 10]]])),
        .init("nonexistent table", 404, dog("search_by_id", ["table": "no_such_table", "ids": [1]])),
        .init("insert into nonexistent table", 400, dog("insert", ["table": "no_such_table", "records": [["id": 10]]])),
        .init("describe unknown database", 404, op("describe_database", ["database": "no_such_db"])),
        .init("drop unknown table", 404, dog("drop_table", ["table": "no_such_table"])),
        .init("invalid table name with a slash", 400, dog("create_table", ["table": "a/b"])),
        .init("invalid database name", 400, op("create_database", ["database": "a/b"])),
        .init("create_table on a table that exists", 400, dog("create_table")),
        .init("create_database that exists", 400, op("create_database", ["database": "mal"])),
        // Records.
        .init("records not an array", 400, dog("insert", ["records": ["id": 10]])),
        .init("records missing", 400, dog("insert")),
        .init("records containing a non-object", 400, dog("insert", ["records": [["id": 10], 5]])),
        .init("primary key an object", 400, dog("insert", ["records": [["id": ["a": 1]]]])),
        .init("primary key an array", 400, dog("upsert", ["records": [["id": [1, 2]]]])),
        .init("primary key a boolean", 400, dog("insert", ["records": [["id": true]]])),
        .init("attribute name with a control character", 400, dog("insert", ["records": [["id": 10, "a\u{1}b": 1]]])),
        .init("update record without primary key", 400, dog("update", ["records": [["name": "x"]]])),
        .init("ids not an array", 400, dog("delete", ["ids": 1])),
        .init("ids containing an object", 400, dog("delete", ["ids": [["id": 1]]])),
        .init("search_by_id without ids", 400, dog("search_by_id")),
        // Searches.
        .init("unknown comparator", 400, cond(["attribute": "age", "comparator": "almost", "value": 1])),
        .init("between with one value", 400, cond(["attribute": "age", "comparator": "between", "value": [1]])),
        .init("between with a scalar", 400, cond(["attribute": "age", "comparator": "between", "value": 1])),
        .init("condition without attribute", 400, cond(["comparator": "equals", "value": 1])),
        .init("condition without value", 400, cond(["attribute": "age", "comparator": "equals"])),
        .init("condition not an object", 400, cond("age = 1")),
        .init("conditions not an array", 400, dog("search_by_conditions", ["conditions": ["attribute": "age"]])),
        .init("operator xor", 400, cond(["attribute": "age", "comparator": "equals", "value": 1], ["operator": "xor"])),
        .init("nested operator not a string", 400, cond(["operator": 1, "conditions": []])),
        .init("get_attributes not an array", 400, dog("search_by_id", ["ids": [1], "get_attributes": "*"])),
        .init("get_attributes with a number", 400, dog("search_by_id", ["ids": [1], "get_attributes": [1]])),
        .init("limit negative", 400, cond(["attribute": "age", "comparator": "greater_than", "value": 0], ["limit": -1])),
        .init("limit a string", 400, cond(["attribute": "age", "comparator": "greater_than", "value": 0], ["limit": "10"])),
        .init("offset a fraction", 400, cond(["attribute": "age", "comparator": "greater_than", "value": 0], ["offset": 1.5])),
        .init("sort.attribute missing", 400, cond(["attribute": "age", "comparator": "greater_than", "value": 0], ["sort": ["descending": true]])),
        .init("sort.descending a string", 400, cond(["attribute": "age", "comparator": "greater_than", "value": 0], ["sort": ["attribute": "age", "descending": "yes"]])),
        .init("search_by_value without value", 400, dog("search_by_value", ["attribute": "age"])),
        .init("search_by_value without attribute", 400, dog("search_by_value", ["value": 1])),
        .init("search_by_value with an object value", 400, dog("search_by_value", ["attribute": "age", "value": ["a": 1]])),
        // Schema.
        .init("drop the primary key", 400, dog("drop_attribute", ["attribute": "id"])),
        .init("create_attribute without attribute", 400, dog("create_attribute")),
        // The system database.
        .init("insert into the system database", 403, dog("insert", ["database": "system", "table": "hdb_user", "records": [["username": "evil", "role": "super_user"]]])),
        .init("update the system database", 403, dog("update", ["database": "system", "table": "hdb_role", "records": [["role": "super_user", "permission": [:]]]])),
        .init("create_table in the system database", 403, dog("create_table", ["database": "system", "table": "evil"])),
        .init("drop the system database", 400, op("drop_database", ["database": "system"])),
        .init("create the system database", 400, op("create_database", ["database": "system"])),
        // Users and roles.
        .init("add_user without password", 400, op("add_user", ["username": "u1", "role": "super_user"])),
        .init("add_user with an empty password", 400, op("add_user", ["username": "u1", "password": "", "role": "super_user"])),
        .init("add_user with a numeric password", 400, op("add_user", ["username": "u1", "password": 1234, "role": "super_user"])),
        .init("add_user with unknown role", 404, op("add_user", ["username": "u1", "password": "pw", "role": "no_such_role"])),
        .init("add_user without username", 400, op("add_user", ["password": "pw", "role": "super_user"])),
        .init("drop_user unknown", 404, op("drop_user", ["username": "no_such_user"])),
        .init("drop a built-in role", 400, op("drop_role", ["role": "super_user"])),
        .init("add_role without permission", 400, op("add_role", ["role": "r1"])),
        // Audit log.
        .init("read_audit_log with a bad search_type", 400, dog("read_audit_log", ["search_type": "colour"])),
        .init("read_audit_log timestamps as strings", 400, dog("read_audit_log", ["search_type": "timestamp", "search_values": ["yesterday"]])),
        .init("read_audit_log negative limit", 400, dog("read_audit_log", ["limit": -5])),
        .init("read_audit_log of an unknown table", 404, dog("read_audit_log", ["table": "no_such_table"])),
        .init("delete_audit_logs_before without timestamp", 400, dog("delete_audit_logs_before")),
        .init("delete_audit_logs_before with a string timestamp", 400, dog("delete_audit_logs_before", ["timestamp": "now"])),
        // Logs.
        .init("read_log with a bad level", 400, op("read_log", ["level": "loud"])),
        .init("read_log with a bad service", 400, op("read_log", ["service": "kernel"])),
        .init("read_log with a negative limit", 400, op("read_log", ["limit": -1])),
        .init("read_log with a bad order", 400, op("read_log", ["order": "sideways"])),
        .init("read_log with a limit past one page", 400, op("read_log", ["limit": 10_001])),
    ]
}

@Sendable func seedMalformed(_ node: TestNode) async throws {
    try await node.ok(["operation": "create_table", "database": "mal", "table": "dog"])
    _ = try await node.insert("mal", "dog", [["id": 1, "name": "Rex", "age": 3], ["id": 2, "name": "Ace", "age": 7]])
    try await node.ok(["operation": "create_table", "database": "mal", "table": "cat", "primary_key": "name"])
}

extension ProcessTests {
    /// Bad requests get a 4xx with `{"error": ...}` and change nothing.
    @Suite(.node(config: ["operationsApi.network.maxBodySize": "64K"], setup: seedMalformed))
    struct MalformedRequests {
        /// Everything a bad request could have changed.
        static func snapshot(_ node: TestNode) async throws -> [JSON] {
            [
                try await node.ok(["operation": "describe_all"]),
                try await node.ok(["operation": "search_by_conditions", "database": "mal", "table": "dog", "conditions": [],
                                   "sort": ["attribute": "id"], "get_attributes": ["*"]]),
                try await node.ok(["operation": "list_users"]),
                try await node.ok(["operation": "list_roles"]),
                .array(try await node.auditLog("mal", "dog")),
            ]
        }

        func send(_ node: TestNode, _ body: MalformedRequest.Body) async throws -> (status: Int, json: JSON) {
            switch body {
            case .json(let json):
                return try await node.post(json)
            case .raw(let bytes):
                let (status, data) = try await node.postRaw(bytes, headers: node.adminHeaders)
                return (status, TestNode.parse(data))
            }
        }

        @Test(arguments: MalformedRequest.all)
        func rejected(_ c: MalformedRequest) async throws {
            let node = try TestNode.shared()
            let before = try await Self.snapshot(node)
            let (status, json) = try await send(node, c.body)
            #expect(status == c.status, "\(c.name): \(status) \(json)")
            #expect((400..<500).contains(status))
            #expect(json["error"]?.stringValue?.isEmpty == false, "\(c.name): no error message in \(json)")
            let after = try await Self.snapshot(node)
            #expect(before == after, "\(c.name) changed the data")
        }

        @Test func atLeastThirtyCases() {
            #expect(MalformedRequest.all.count >= 30)
            #expect(Set(MalformedRequest.all.map(\.name)).count == MalformedRequest.all.count)
        }

        @Test func oversizedBodyIs413() async throws {
            let node = try TestNode.shared()
            let before = try await Self.snapshot(node)
            let big = String(repeating: "x", count: 100 * 1024)
            let body: JSON = ["operation": "insert", "database": "mal", "table": "dog", "records": [["id": 99, "blob": .string(big)]]]
            let (status, json) = try await node.post(body)
            #expect(status == 413, "\(status) \(json)")
            #expect(json["error"]?.stringValue != nil)
            #expect(try await Self.snapshot(node) == before)
            // Just under the limit is accepted.
            let fits = String(repeating: "y", count: 60 * 1024)
            let (ok, _) = try await node.post(["operation": "insert", "database": "mal", "table": "cat", "records": [["name": "big", "blob": .string(fits)]]])
            #expect(ok == 200)
            try await node.ok(["operation": "delete", "database": "mal", "table": "cat", "ids": ["big"]])
        }

        @Test func oversizedBodyWithoutCredentialsIs413Or401() async throws {
            let node = try TestNode.shared()
            let big = Array(repeating: UInt8(ascii: " "), count: 100 * 1024)
            let (status, data) = try await node.postRaw(big, headers: ["Content-Type": "application/json"])
            #expect(status == 413 || status == 401, "\(status)")
            #expect(TestNode.parse(data)["error"]?.stringValue != nil)
        }
    }
}
