import Foundation
import SkeinCore
import Testing

@Sendable func seedSQL(_ node: TestNode) async throws {
    try await node.ok(["operation": "create_table", "database": "sq", "table": "dog", "primary_key": "id"])
    try await node.ok(["operation": "create_table", "database": "sq", "table": "owner", "primary_key": "id"])
    _ = try await node.insert("sq", "dog", ProcessTests.SQL.dogs)
    _ = try await node.insert("sq", "owner", [["id": 1, "name": "Kyle"], ["id": 2, "name": "Zach"], ["id": 3, "name": "Nobody"]])
    try await node.ok(["operation": "add_role", "role": "dog_reader", "permission": ["sq": ["tables": ["dog": ["read": true, "insert": false, "update": false, "delete": false]]]]])
    try await node.ok(["operation": "add_user", "username": "sql_reader", "password": "pw-sql-reader", "role": "dog_reader", "active": true])
}

extension ProcessTests {
    /// The `sql` operation over two seeded tables, `sq.dog` and `sq.owner`.
    @Suite(.node(setup: seedSQL))
    struct SQL {
        static let dogs: [JSON] = [
            ["id": 1, "name": "Rex", "breed": "Labrador", "age": 3, "owner_id": 1],
            ["id": 2, "name": "Ace", "breed": "Poodle", "age": 7, "owner_id": 2],
            ["id": 3, "name": "Bella", "breed": "Labrador Mix", "age": 5, "owner_id": 1],
            ["id": 4, "name": "Max", "breed": "Beagle", "age": 10],
            ["id": 5, "name": "Daisy", "breed": "Poodle", "age": 1, "owner_id": 2],
            ["id": 6, "name": "Zed", "breed": "Mutt", "age": 5, "owner_id": 9],
        ]

        func sql(_ statement: String) async throws -> JSON {
            try await TestNode.shared().ok(["operation": "sql", "sql": .string(statement)])
        }

        func refused(_ statement: String, _ status: Int) async throws -> String {
            try await TestNode.shared().fails(["operation": "sql", "sql": .string(statement)], status)
        }

        @Test func selectWhereOrderLimit() async throws {
            let r = try await sql("SELECT id, name AS dog FROM sq.dog WHERE age >= 3 AND breed <> 'Mutt' ORDER BY age DESC, id LIMIT 3 OFFSET 1")
            #expect(r == [["id": 2, "dog": "Ace"], ["id": 3, "dog": "Bella"], ["id": 1, "dog": "Rex"]])
            let star = try await sql("select * from `sq`.`dog` where name like 'r%' or id in (4) order by id")
            #expect(star.ids() == [1, 4] && star.arrayValue?.first?["breed"] == "Labrador")
            #expect(try await sql("SELECT id FROM sq.dog WHERE owner_id IS NULL").ids() == [4])
            #expect(try await sql("SELECT id FROM sq.dog WHERE age BETWEEN 3 AND 5 AND NOT (name = 'Zed')").ids() == [1, 3])
            #expect(try await sql("SELECT 2 + 2") == [["2 + 2": 4]])
        }

        @Test func aggregatesWithGroupBy() async throws {
            #expect(try await sql("SELECT COUNT(*) AS n, SUM(age), AVG(age) AS mean, MIN(age), MAX(name) FROM sq.dog")
                    == [["n": 6, "SUM(age)": 31, "mean": .number(31.0 / 6), "MIN(age)": 1, "MAX(name)": "Zed"]])
            #expect(try await sql("SELECT breed, COUNT(*) AS n FROM sq.dog WHERE age > 1 GROUP BY breed ORDER BY n DESC, breed LIMIT 2")
                    == [["breed": "Beagle", "n": 1], ["breed": "Labrador", "n": 1]])
            #expect(try await sql("SELECT count(*) AS `count` FROM sq.dog WHERE breed = 'Poodle'") == [["count": 2]])
        }

        @Test func innerJoinOnEquality() async throws {
            let r = try await sql("""
                SELECT d.name AS dog, o.name AS owner FROM sq.dog AS d INNER JOIN sq.owner o ON d.owner_id = o.id
                WHERE o.name <> 'Zach' ORDER BY d.id
                """)
            #expect(r == [["dog": "Rex", "owner": "Kyle"], ["dog": "Bella", "owner": "Kyle"]])
            let counts = try await sql("SELECT o.name, COUNT(d.id) AS dogs FROM sq.owner o JOIN sq.dog d ON o.id = d.owner_id GROUP BY o.name ORDER BY o.name")
            #expect(counts == [["name": "Kyle", "dogs": 2], ["name": "Zach", "dogs": 2]])
        }

        @Test func leftJoinKeepsRowsWithoutAMatch() async throws {
            let orphans = try await sql("""
                SELECT d.name AS dog, o.name AS owner FROM sq.dog d LEFT JOIN sq.owner o ON d.owner_id = o.id
                WHERE o.id IS NULL ORDER BY d.id
                """)
            #expect(orphans == [["dog": "Max", "owner": nil], ["dog": "Zed", "owner": nil]])
            let all = try await sql("SELECT o.name, COUNT(d.id) AS dogs FROM sq.owner o LEFT JOIN sq.dog d ON o.id = d.owner_id GROUP BY o.name ORDER BY o.name")
            #expect(all == [["name": "Kyle", "dogs": 2], ["name": "Nobody", "dogs": 0], ["name": "Zach", "dogs": 2]])
        }

        @Test func insertUpdateDeleteGoThroughTheStore() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("sq", "pet")
            let inserted = try await sql("INSERT INTO sq.pet (id, name, age) VALUES (1, 'Pip', 2), (2, 'Tig', 4), (3, 'Bo', 9)")
            #expect(inserted["message"] == "inserted 3 of 3 records" && inserted["inserted_hashes"] == [1, 2, 3], "\(inserted)")
            let updated = try await sql("UPDATE sq.pet SET age = age + 1, name = 'old' WHERE age > 3")
            #expect(updated["message"] == "updated 2 of 2 records" && updated["update_hashes"]?.arrayValue?.count == 2, "\(updated)")
            #expect(updated["skipped_hashes"] == [])
            #expect(try await node.byID("sq", "pet", [2, 3]).map { [$0["name"], $0["age"]] } == [["old", 5], ["old", 10]])
            let none = try await sql("UPDATE sq.pet SET age = 0 WHERE name = 'nobody'")
            #expect(none == ["message": "updated 0 of 0 records", "update_hashes": [], "skipped_hashes": []])
            let deleted = try await sql("DELETE FROM sq.pet WHERE name = 'old'")
            #expect(deleted["message"] == "2 of 2 records successfully deleted" && deleted["deleted_hashes"]?.arrayValue?.count == 2, "\(deleted)")
            #expect(try await sql("SELECT id FROM sq.pet") == [["id": 1]])
            // Audited like the NoSQL writes.
            let audited = await eventually {
                Set((await node.pollAuditLog("sq", "pet") ?? []).compactMap { $0["operation"]?.stringValue }).isSuperset(of: ["insert", "update", "delete"])
            }
            #expect(audited)
            #expect(try await refused("UPDATE sq.pet SET id = 5 WHERE id = 1", 400) == "SQL: the primary key 'id' cannot be updated")
            // Harper's rule for attribute names written by SQL.
            #expect(try await refused("INSERT INTO sq.pet (id, `a/b`) VALUES (7, 1)", 400) == "Attribute names cannot include backticks or forward slashes")
            #expect(try await refused("UPDATE sq.pet SET `a``b` = 1 WHERE id = 1", 400) == "Attribute names cannot include backticks or forward slashes")
        }

        @Test func errorsAreClear() async throws {
            #expect(try await refused("SELECT * FROM sq.dog WHERE", 400) == "SQL syntax error at position 27: expected an expression but found end of statement")
            #expect(try await refused("SELECT * FROM sq.dog d RIGHT JOIN sq.owner o ON d.owner_id = o.id", 400) == "SQL: RIGHT JOIN is not supported (at position 24)")
            #expect(try await refused("SELECT * FROM sq.no_such_table", 404) == "Table 'sq.no_such_table' does not exist")
            #expect(try await refused("SELECT * FROM nodb.dog", 404) == "database 'nodb' does not exist")
            #expect(try await refused("SELECT x.id FROM sq.dog", 400) == "SQL: unknown table or alias 'x'")
            let node = try TestNode.shared()
            #expect(try await node.fails(["operation": "sql", "slq": "SELECT 1"], 400) == "The 'sql' parameter is missing from the request body")
            #expect(try await node.fails(["operation": "sql", "sql": 5], 400) == "'sql' must be a string")
        }

        @Test func theRoleAppliesToEveryTable() async throws {
            let node = try TestNode.shared()
            func asReader(_ statement: String) async throws -> (status: Int, json: JSON) {
                try await node.post(["operation": "sql", "sql": .string(statement)], user: "sql_reader", password: "pw-sql-reader")
            }
            #expect(try await asReader("SELECT id FROM sq.dog WHERE id = 1").json == [["id": 1]])
            let join = try await asReader("SELECT d.id FROM sq.dog d JOIN sq.owner o ON d.owner_id = o.id")
            // Harper's 403: a table the role may not use is one it cannot see.
            #expect(join.status == 403 && join.json["invalid_schema_items"] == ["Table 'sq.owner' does not exist"], "\(join)")
            for write in ["INSERT INTO sq.dog (id) VALUES (99)", "UPDATE sq.dog SET age = 1 WHERE id = 1", "DELETE FROM sq.dog WHERE id = 1"] {
                #expect(try await asReader(write).status == 403, "\(write)")
            }
            #expect(try await sql("SELECT age FROM sq.dog WHERE id = 1") == [["age": 3]])
        }

        @Test func aLongResultStreamsInPages() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("sq", "many")
            _ = try await node.insert("sq", "many", (1...2500).map { ["id": JSON($0), "even": .bool($0 % 2 == 0)] })
            // More than a page (1000 rows): the store's search, streamed through the gateway.
            let all = try await sql("SELECT id FROM sq.many WHERE id > 0 ORDER BY id DESC")
            #expect(all.column("id").compactMap(\.intValue) == Array((1...2500).reversed()))
            let odd = try await sql("SELECT * FROM sq.many WHERE even = false")
            #expect(odd.ids() == Array(stride(from: 1, through: 2499, by: 2)))
            let planned = await eventually {
                let log = try await node.ok(["operation": "read_log", "service": "gateway", "level": "debug", "limit": 200, "order": "desc"])
                return (log.arrayValue ?? []).map(\.text).contains { $0.contains("sql plan") && $0.contains("sq.many") && $0.contains("\"streamed\":\"true\"") }
            }
            #expect(planned)
        }

        @Test func anIndexedEqualityDoesNotScan() async throws {
            let node = try TestNode.shared()
            _ = try await sql("SELECT id FROM sq.dog WHERE breed = 'Beagle' AND age > 2")
            _ = try await sql("SELECT id FROM sq.dog WHERE name LIKE '%e%'")
            let planned = await eventually {
                let log = try await node.ok(["operation": "read_log", "service": "gateway", "level": "debug", "limit": 200, "order": "desc"])
                let plans = (log.arrayValue ?? []).map(\.text).filter { $0.contains("sql plan") && $0.contains("sq.dog") }
                return plans.contains { $0.contains("index(breed)") } && plans.contains { $0.contains("\"scan\"") }
            }
            #expect(planned)
        }
    }

    /// SQL writes go through the store's write path: they replicate like any write.
    @Suite struct SQLReplicationTests {
        @Test func writesOnEitherNodeReachTheOther() async throws {
            try await withReplicatingPair { a, b in
                func sql(_ peer: Peer, _ statement: String) async throws -> JSON {
                    try await peer.node.ok(["operation": "sql", "sql": .string(statement)])
                }
                func eventually(_ peer: Peer, _ statement: String, _ expected: JSON) async throws {
                    _ = try await pollUntil("\(statement) on \(peer.name) to answer \(expected.text)") { () -> Bool? in
                        let r = try await peer.node.post(["operation": "sql", "sql": .string(statement)])
                        return r.status == 200 && r.json == expected ? true : nil
                    }
                }
                try await a.node.ok(["operation": "create_table", "database": "data", "table": "cat", "primary_key": "id"])
                _ = try await pollUntil("the table on node-b") { () -> Bool? in
                    try await b.node.post(["operation": "describe_table", "database": "data", "table": "cat"]).status == 200 ? true : nil
                }
                #expect(try await sql(a, "INSERT INTO data.cat (id, name, lives) VALUES (1, 'Tom', 9), (2, 'Kit', 7)")["inserted_hashes"] == [1, 2])
                try await eventually(b, "SELECT id, name FROM data.cat ORDER BY id", [["id": 1, "name": "Tom"], ["id": 2, "name": "Kit"]])
                #expect(try await sql(b, "UPDATE data.cat SET lives = lives - 1 WHERE name = 'Tom'")["update_hashes"] == [1])
                try await eventually(a, "SELECT lives FROM data.cat WHERE id = 1", [["lives": 8]])
                #expect(try await sql(a, "DELETE FROM data.cat WHERE lives < 8")["deleted_hashes"] == [2])
                try await eventually(b, "SELECT COUNT(*) AS n FROM data.cat", [["n": 1]])
            }
        }
    }
}
