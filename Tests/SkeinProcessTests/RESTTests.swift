import Foundation
import SkeinCore
import Testing

@Sendable func seedREST(_ node: TestNode) async throws {
    try await node.ok(["operation": "create_table", "database": "data", "table": "dog", "primary_key": "id"])
    _ = try await node.insert("data", "dog", ProcessTests.Search.dogs)
    try await node.ok(["operation": "create_table", "database": "dev", "table": "cat", "primary_key": "id"])
    _ = try await node.insert("dev", "cat", [["id": "tom", "name": "Tom", "lives": 9]])
    try await node.ok(["operation": "add_role", "role": "dog_reader",
                       "permission": ["data": ["tables": ["dog": ["read": true, "insert": false, "update": false, "delete": false]]]]])
    try await node.ok(["operation": "add_user", "username": "reader", "password": "reader-pw", "role": "dog_reader", "active": true])
    try await node.ok(["operation": "add_role", "role": "dog_updater",
                       "permission": ["data": ["tables": ["dog": ["read": false, "insert": false, "update": true, "delete": false]]]]])
    try await node.ok(["operation": "add_user", "username": "updater", "password": "updater-pw", "role": "dog_updater", "active": true])
}

extension ProcessTests {
    /// Harper's REST interface on `http.port`: tables as resources.
    @Suite(.node(config: ["operationsApi.network.maxBodySize": "64K"], setup: seedREST))
    struct REST {
        var node: TestNode { get throws { try TestNode.shared() } }

        func ids(_ target: String) throws -> [Int] {
            let r = try node.rest("GET", target)
            #expect(r.status == 200, "\(target): \(r.status) \(r.body)")
            return r.json.ids()
        }

        @Test func getByID() throws {
            let r = try node.rest("GET", "/dog/2")
            #expect(r.status == 200)
            #expect(r.headers["content-type"] == "application/json")
            #expect(r.json["name"] == "Ace" && r.json["id"] == 2)
            #expect(try node.rest("GET", "/dog/2?select(name)").json == ["name": "Ace"])
            let missing = try node.rest("GET", "/dog/99")
            #expect(missing.status == 404 && missing.error?.contains("no record '99'") == true, "\(missing.body)")
            #expect(try node.rest("GET", "/nosuch/1").status == 404)
            #expect(try node.rest("GET", "/system/hdb_user/admin").status == 404, "the system database is never exported")
            #expect(try node.rest("GET", "/dev/cat/tom").json["lives"] == 9)
        }

        @Test func queries() throws {
            #expect(try ids("/dog/") == [1, 2, 3, 4, 5, 6])
            #expect(try ids("/dog") == [1, 2, 3, 4, 5, 6])
            #expect(try ids("/dog/?breed=Poodle") == [2, 5])
            #expect(try ids("/dog/?age=gt=5") == [2, 4])
            #expect(try ids("/dog/?age>5") == [2, 4])
            #expect(try ids("/dog/?age=le=3&breed=sw=Lab") == [1])
            #expect(try ids("/dog/?breed=Poodle|age=ge=10") == [2, 4, 5])
            #expect(try ids("/dog/?(breed=Poodle|breed=Beagle)&age=gt=5") == [2, 4])
            #expect(try ids("/dog/?name=ne=Rex&weight=lt=10") == [2, 5])
            #expect(try ids("/dog/?breed==Lab*") == [1, 3])
            #expect(try ids("/dog/?breed=Labrador%20Mix") == [3])
            #expect(try ids("/data/dog/?breed=Mutt") == [6])
            let sorted = try node.rest("GET", "/dog/?age=ge=5&select(id,name)&sort(-age)&limit(2)")
            #expect(sorted.json == [["id": 4, "name": "Max"], ["id": 2, "name": "Ace"]])
            #expect(try node.rest("GET", "/dog/?sort(+weight)&limit(1,3)&select(id)").json.column("id") == [2, 4])
        }

        @Test func malformedQueries() throws {
            let mixed = try node.rest("GET", "/dog/?a=1&b=2|c=3")
            #expect(mixed.status == 400)
            #expect(mixed.error == "Unable to parse query: cannot mix '&' and '|' in one group (use parentheses) at position 7 in 'a=1&b=2|c=3'")
            let function = try node.rest("GET", "/dog/?group(a)")
            #expect(function.status == 400 && function.error?.contains("unknown function 'group()'") == true)
            #expect(try node.rest("GET", "/dog/?age=zz=1").status == 400)
        }

        @Test func csv() throws {
            let r = try node.rest("GET", "/dog/?breed=Poodle&select(id,name)&sort(+id)", headers: ["Accept": "text/csv"])
            #expect(r.status == 200)
            #expect(r.headers["content-type"] == "text/csv; charset=utf-8")
            #expect(r.body == "id,name\r\n2,Ace\r\n5,Daisy\r\n")
            // No select: the table's attributes (every one its records ever had) head the columns.
            let all = try node.rest("GET", "/dog/?id=2", headers: ["Accept": "text/csv, application/json"])
            let lines = all.body.components(separatedBy: "\r\n")
            let header = lines[0].split(separator: ",").map(String.init)
            #expect(Set(["id", "name", "breed", "age", "weight", "tags"]).isSubset(of: Set(header)), "\(header)")
            let row = lines[1].components(separatedBy: ",")
            #expect(row.count == header.count && row[header.firstIndex(of: "name")!] == "Ace" && row[header.firstIndex(of: "tags")!] == "",
                    "\(all.body)")
            let tags = try node.rest("GET", "/dog/?id=1&select(id,tags)", headers: ["Accept": "text/csv"])
            #expect(tags.body == "id,tags\r\n1,\"[\"\"good\"\",\"\"big\"\"]\"\r\n", "arrays are quoted JSON")
            let one = try node.rest("GET", "/dog/5", headers: ["Accept": "text/csv"])
            #expect(one.body.hasPrefix("__createdtime__,__updatedtime__,age,breed,id,name,weight\r\n"), "\(one.body)")
            // JSON preferred first, or anything else: JSON.
            #expect(try node.rest("GET", "/dog/5", headers: ["Accept": "application/json, text/csv"]).json["name"] == "Daisy")
        }

        @Test func writes() async throws {
            let node = try node
            let put = try node.rest("PUT", "/dog/100", body: ["name": "Pup", "age": 1, "toy": "ball"])
            #expect(put.status == 204, "\(put.body)")
            #expect(try node.rest("GET", "/dog/100").json.objectValue?.filter { !$0.key.hasPrefix("__") } == ["id": 100, "name": "Pup", "age": 1, "toy": "ball"])
            // PUT replaces the whole record; PATCH merges into it.
            #expect(try node.rest("PUT", "/dog/100", body: ["name": "Pup2", "age": 2]).status == 204)
            let replaced = try node.rest("GET", "/dog/100").json
            #expect(replaced["toy"] == nil && replaced["name"] == "Pup2", "\(replaced)")
            #expect(try node.rest("PATCH", "/dog/100", body: ["toy": "rope"]).status == 204)
            let patched = try node.rest("GET", "/dog/100").json
            #expect(patched["toy"] == "rope" && patched["name"] == "Pup2", "\(patched)")
            // A string id stays a string; the body's primary key must match the path.
            #expect(try node.rest("PUT", "/dog/abc", body: ["id": "abc", "name": "Letters"]).status == 204)
            #expect(try await node.byID("data", "dog", ["abc"]).first?["name"] == "Letters")
            #expect(try node.rest("PUT", "/dog/abc", body: ["id": "xyz"]).status == 400)

            // POST creates with a generated id, returned in the body and Location.
            let post = try node.rest("POST", "/dog/", body: ["name": "New"])
            #expect(post.status == 201, "\(post.body)")
            let id = try #require(post.json.stringValue)
            #expect(post.headers["location"] == "/dog/\(id)")
            #expect(try node.rest("GET", "/dog/\(id)").json["name"] == "New")
            #expect(try node.rest("POST", "/dev/cat/", body: ["id": "felix"]).headers["location"] == "/dev/cat/felix")
            #expect(try node.rest("POST", "/dev/cat/", body: ["id": "felix"]).status == 409)

            // DELETE.
            let deleted = try node.rest("DELETE", "/dog/100")
            #expect(deleted.status == 200 && deleted.json == true)
            #expect(try node.rest("GET", "/dog/100").status == 404)
            #expect(try node.rest("DELETE", "/dog/100").status == 404)

            // Writes are audited like any other, as the caller.
            let log = try await node.auditLog("data", "dog")
            #expect(log.contains { $0["operation"] == "upsert" && $0["user_name"] == "admin" }, "\(log.suffix(3))")
            #expect(log.contains { $0["operation"] == "delete" })
        }

        @Test func writeErrors() throws {
            let node = try node
            let text = try node.rest("PUT", "/dog/1", rawBody: "name=x", headers: ["Content-Type": "text/plain"])
            #expect(text.status == 415 && text.error?.contains("text/plain") == true)
            #expect(try node.rest("PUT", "/dog/1", rawBody: "{nope", headers: ["Content-Type": "application/json"]).status == 400)
            #expect(try node.rest("PUT", "/dog/1", body: [1, 2]).status == 400)
            let big = try node.rest("POST", "/dog/", rawBody: "{\"x\":\"" + String(repeating: "a", count: 70_000) + "\"}",
                                    headers: ["Content-Type": "application/json"])
            #expect(big.status == 413)
            let wrong = try node.rest("POST", "/dog/1", body: ["name": "x"])
            #expect(wrong.status == 405 && wrong.headers["allow"] == "GET, PUT, PATCH, DELETE")
            #expect(try node.rest("PUT", "/dog/", body: ["name": "x"]).headers["allow"] == "GET, POST")
            #expect(try node.rest("OPTIONS", "/dog/").status == 405)
            #expect(try node.rest("DELETE", "/nosuch/1").status == 404)
        }

        @Test func authentication() async throws {
            let node = try node
            let none = try node.rest("GET", "/dog/1", authorization: "")
            #expect(none.status == 401 && none.error != nil)
            #expect(try node.rest("GET", "/dog/1", user: "admin", password: "wrong").status == 401)
            let tokens = try await node.post(["operation": "create_authentication_tokens", "username": .string(node.adminUser),
                                              "password": .string(node.adminPassword)], user: nil)
            let token = try #require(tokens.json["operation_token"]?.stringValue)
            #expect(try node.rest("GET", "/dog/1", authorization: "Bearer \(token)").json["name"] == "Rex")
            let refresh = try #require(tokens.json["refresh_token"]?.stringValue)
            #expect(try node.rest("GET", "/dog/1", authorization: "Bearer \(refresh)").status == 401)
        }

        @Test func permissions() throws {
            let node = try node
            func asReader(_ method: String, _ target: String, _ body: JSON? = nil) throws -> RESTResponse {
                try node.rest(method, target, body: body, user: "reader", password: "reader-pw")
            }
            #expect(try asReader("GET", "/dog/1").json["name"] == "Rex")
            #expect(try asReader("GET", "/dog/?breed=Poodle").json.ids() == [2, 5])
            for (method, target, body) in [("PUT", "/dog/1", ["name": "x"] as JSON?), ("PATCH", "/dog/1", ["name": "x"]),
                                           ("POST", "/dog/", ["name": "x"]), ("DELETE", "/dog/1", nil), ("GET", "/dev/cat/tom", nil),
                                           ("GET", "/dev/cat/", nil)] {
                let r = try asReader(method, target, body)
                #expect(r.status == 403 && r.error == PermissionDenial.message, "\(method) \(target): \(r.status) \(r.body)")
            }
            // `update` changes an existing record; a new one needs `insert` too.
            #expect(try node.rest("PATCH", "/dog/6", body: ["nick": "Z"], user: "updater", password: "updater-pw").status == 204)
            #expect(try node.rest("PUT", "/dog/777", body: ["name": "x"], user: "updater", password: "updater-pw").status == 403)
            #expect(try node.rest("GET", "/dog/6", user: "updater", password: "updater-pw").status == 403)
        }

        /// More rows than one page of the store: streamed as one chunked array (or CSV).
        @Test func longResultsStream() async throws {
            let node = try node
            try await node.ok(["operation": "create_table", "database": "data", "table": "many", "primary_key": "id"])
            _ = try await node.insert("data", "many", (0..<2500).map { ["id": JSON($0), "v": JSON($0 % 7)] })
            let r = try node.rest("GET", "/many/")
            #expect(r.headers["transfer-encoding"] == "chunked")
            #expect(r.json.count == 2500)
            let csv = try node.rest("GET", "/many/?select(id,v)", headers: ["Accept": "text/csv"])
            #expect(csv.body.components(separatedBy: "\r\n").filter { !$0.isEmpty }.count == 2501)
        }
    }

    @Suite struct RESTExportTests {
        @Test func onlyExportedTablesAreServed() async throws {
            try await withNode(config: ["rest.exportTables": "dog, dev.cat"]) { node in
                try await seedREST(node)
                try await node.ok(["operation": "create_table", "database": "data", "table": "secret", "primary_key": "id"])
                _ = try await node.insert("data", "secret", [["id": 1]])
                #expect(try node.rest("GET", "/dog/1").status == 200)
                #expect(try node.rest("GET", "/dev/cat/tom").status == 200)
                let hidden = try node.rest("GET", "/secret/1")
                #expect(hidden.status == 404 && hidden.error == "no table at '/secret/1'")
                #expect(try node.rest("PUT", "/secret/1", body: ["a": 1]).status == 404)
                // The operations API still serves it.
                #expect(try await node.byID("data", "secret", [1]).count == 1)
            }
        }
    }

    @Suite struct RESTReplicationTests {
        @Test func putOnOneNodeIsReadOnTheOther() async throws {
            try await withReplicatingPair { a, b in
                try await a.node.ok(["operation": "create_table", "database": "data", "table": "dog", "primary_key": "id"])
                _ = try await pollUntil("the table on node-b") { () -> Bool? in try b.node.rest("GET", "/dog/").status == 200 ? true : nil }
                #expect(try a.node.rest("PUT", "/dog/7", body: ["name": "Rex", "from": "node-a"]).status == 204)
                let onB = try await pollUntil("record 7 through REST on node-b") { () -> JSON? in
                    let r = try b.node.rest("GET", "/dog/7")
                    return r.status == 200 ? r.json : Optional<JSON>.none  // a bare nil would be JSON.null
                }
                #expect(onB["name"] == "Rex" && onB["from"] == "node-a", "\(onB)")
            }
        }
    }
}
