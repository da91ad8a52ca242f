import Foundation
import SkeinCore
import Testing

extension ProcessTests {
    /// insert, update, upsert, delete, search_by_id/hash and search_by_value. Each test uses
    /// its own table of database `dat`.
    @Suite(.node())
    struct DataOps {
        @Test func insertSkipsExistingIDs() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("dat", "ins")
            let before = Date().timeIntervalSince1970 * 1000
            let r = try await node.insert("dat", "ins", [["id": 1, "name": "a"], ["id": 2, "name": "b"]])
            #expect(r["message"]?.stringValue == "inserted 2 of 2 records")
            #expect(r["inserted_hashes"] == [1, 2])
            #expect(r["skipped_hashes"] == [])
            let txnTime = try #require(r["txn_time"]?.doubleValue)
            #expect(txnTime >= before - 1000)

            let again = try await node.insert("dat", "ins", [["id": 2, "name": "changed"], ["id": 3, "name": "c"]])
            #expect(again["message"]?.stringValue == "inserted 1 of 2 records")
            #expect(again["inserted_hashes"] == [3])
            #expect(again["skipped_hashes"] == [2])
            let two = try await node.byID("dat", "ins", [2])
            #expect(two.first?["name"]?.stringValue == "b", "an insert must not overwrite an existing record")

            let records = try await node.byID("dat", "ins", [1])
            let rec = try #require(records.first)
            #expect(rec["__createdtime__"]?.doubleValue == txnTime)
            #expect(rec["__updatedtime__"]?.doubleValue == txnTime)
        }

        @Test func insertGeneratesUUIDs() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("dat", "uuid")
            let r = try await node.insert("dat", "uuid", [["name": "x"], ["name": "y"]])
            let ids = try #require(r["inserted_hashes"]?.arrayValue)
            #expect(ids.count == 2)
            for id in ids {
                let s = try #require(id.stringValue, "generated id is not a string: \(id)")
                #expect(UUID(uuidString: s) != nil, "not a UUID: \(s)")
            }
            #expect(Set(ids).count == 2)
            let records = try await node.byID("dat", "uuid", ids)
            #expect(Set(records.compactMap { $0["name"]?.stringValue }) == ["x", "y"])
            #expect(records.allSatisfy { $0["id"] != nil })
        }

        @Test func clientTimestampsAreIgnored() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("dat", "ts")
            let r = try await node.insert("dat", "ts", [["id": 1, "__createdtime__": 5, "__updatedtime__": 6]])
            let txn = try #require(r["txn_time"]?.doubleValue)
            let rec = try #require(try await node.byID("dat", "ts", [1]).first)
            #expect(rec["__createdtime__"]?.doubleValue == txn)
            #expect(rec["__updatedtime__"]?.doubleValue == txn)
        }

        @Test func updateMergesAndSkipsMissing() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("dat", "upd")
            let ins = try await node.insert("dat", "upd", [["id": 1, "name": "a", "age": 3, "tags": ["x"]]])
            let created = try #require(ins["txn_time"]?.doubleValue)
            try await Task.sleep(for: .milliseconds(5))
            let r = try await node.ok(["operation": "update", "database": "dat", "table": "upd",
                                       "records": [["id": 1, "age": 4, "color": "brown"], ["id": 99, "age": 1]]])
            #expect(r["message"]?.stringValue == "updated 1 of 2 records")
            #expect(r["update_hashes"] == [1])
            #expect(r["skipped_hashes"] == [99])
            let rec = try #require(try await node.byID("dat", "upd", [1]).first)
            #expect(rec["name"]?.stringValue == "a")
            #expect(rec["age"]?.intValue == 4)
            #expect(rec["color"]?.stringValue == "brown")
            #expect(rec["tags"] == ["x"])
            #expect(rec["__createdtime__"]?.doubleValue == created)
            let updated = try #require(rec["__updatedtime__"]?.doubleValue)
            #expect(updated == r["txn_time"]?.doubleValue)
            #expect(updated > created)
            #expect(try await node.byID("dat", "upd", [99]).isEmpty, "update must not create records")
            // A field set to null stays, as null.
            try await node.ok(["operation": "update", "database": "dat", "table": "upd", "records": [["id": 1, "color": nil]]])
            let after = try #require(try await node.byID("dat", "upd", [1]).first)
            #expect(after["color"] == .null)
        }

        @Test func upsertInsertsAndMerges() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("dat", "ups")
            _ = try await node.insert("dat", "ups", [["id": 1, "name": "a", "age": 3]])
            let r = try await node.ok(["operation": "upsert", "database": "dat", "table": "ups",
                                       "records": [["id": 1, "age": 5], ["id": 2, "name": "b"]]])
            #expect(r["message"]?.stringValue == "upserted 2 of 2 records")
            #expect(r["upserted_hashes"] == [1, 2])
            #expect(r["txn_time"]?.doubleValue != nil)
            let records = try await node.byID("dat", "ups", [1, 2])
            #expect(records.count == 2)
            #expect(records.first { $0["id"] == 1 }?["name"]?.stringValue == "a")
            #expect(records.first { $0["id"] == 1 }?["age"]?.intValue == 5)
            #expect(records.first { $0["id"] == 2 }?["name"]?.stringValue == "b")
            #expect(records.first { $0["id"] == 2 }?["__createdtime__"] != nil)
        }

        /// Harper's insert/update/upsert answers carry `new_attributes` (dataLayer/insert.js
        /// returnObject, ResourceBridge.ts upsertRecords): what the write added to the table.
        @Test func writesReportNewAttributes() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("dat", "newattr")
            let first = try await node.insert("dat", "newattr", [["id": 1, "name": "a"], ["id": 2, "age": 3]])
            #expect(first["new_attributes"] == ["name", "age"])
            let again = try await node.insert("dat", "newattr", [["id": 3, "name": "c"]])
            #expect(again["new_attributes"] == [])
            let update = try await node.ok(["operation": "update", "database": "dat", "table": "newattr",
                                            "records": [["id": 1, "color": "red", "name": "b"]]])
            #expect(update["new_attributes"] == ["color"])
            let upsert = try await node.ok(["operation": "upsert", "database": "dat", "table": "newattr",
                                            "records": [["id": 9, "weight": 2, "size": 1]]])
            #expect(upsert["new_attributes"] == ["size", "weight"])
            // A declared table (schema_defined) answers without `new_attributes`, as Harper.
            _ = try await node.post(["operation": "drop_table", "database": "dat", "table": "declared"])
            try await node.ok(["operation": "create_table", "database": "dat", "table": "declared", "primary_key": "id",
                               "attributes": [["name": "id"], ["name": "name", "indexed": true]]])
            let declared = try await node.insert("dat", "declared", [["id": 1, "name": "a", "extra": 2]])
            #expect(declared["inserted_hashes"] == [1] && declared["new_attributes"] == nil, "\(declared)")
        }

        /// Harper answers a write to a missing database or table with 400 (2_dataLoad.mjs:417-463),
        /// a read of one with 404 (4_noSqlTests.mjs:750-776).
        @Test func writesToMissingTablesAre400() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("dat", "present")
            for op in ["insert", "update", "upsert"] {
                let noDB = try await node.fails(["operation": .string(op), "schema": "not_a_schema", "table": "present",
                                                 "records": [["id": 1]]], 400)
                #expect(noDB == "database 'not_a_schema' does not exist")
                let noTable = try await node.fails(["operation": .string(op), "schema": "dat", "table": "not_a_table",
                                                    "records": [["id": 1]]], 400)
                #expect(noTable == "Table 'dat.not_a_table' does not exist")
            }
            let read = try await node.fails(["operation": "search_by_hash", "schema": "dat", "table": "not_a_table",
                                             "hash_values": [1], "get_attributes": ["*"]], 404)
            #expect(read == "Table 'dat.not_a_table' does not exist")
        }

        @Test func deleteReportsDeletedAndSkipped() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("dat", "del")
            _ = try await node.insert("dat", "del", [["id": 1, "k": "v"], ["id": 2, "k": "v"], ["id": 3, "k": "w"]])
            let r = try await node.ok(["operation": "delete", "database": "dat", "table": "del", "ids": [1, 3, 42]])
            #expect(r["message"]?.stringValue == "2 of 3 records successfully deleted")
            #expect(r["deleted_hashes"] == [1, 3])
            #expect(r["skipped_hashes"] == [42])
            #expect(try await node.byID("dat", "del", [1, 2, 3]).ids() == [2])
            // hash_values is the older name of ids.
            let alias = try await node.ok(["operation": "delete", "database": "dat", "table": "del", "hash_values": [2]])
            #expect(alias["deleted_hashes"] == [2])
            // Harper: "1 of 1 record" (4_noSqlTests.mjs:1484, 10_otherRoleTests.mjs:2005), "2 of 2 records" (3_sqlTests.mjs:270).
            #expect(alias["message"]?.stringValue == "1 of 1 record successfully deleted")
            let none = try await node.ok(["operation": "delete", "database": "dat", "table": "del", "ids": [2]])
            #expect(none["message"]?.stringValue == "0 of 1 record successfully deleted")
            let t = try await node.ok(["operation": "describe_table", "database": "dat", "table": "del"])
            #expect(t["record_count"]?.intValue == 0)
            // The index forgets deleted records.
            let found = try await node.ok(["operation": "search_by_value", "database": "dat", "table": "del", "attribute": "k", "value": "v"])
            #expect(found.count == 0)
            // A deleted id can be inserted again.
            let re = try await node.insert("dat", "del", [["id": 1, "k": "again"]])
            #expect(re["inserted_hashes"] == [1])
        }

        @Test func searchByIDAndHash() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("dat", "sid")
            _ = try await node.insert("dat", "sid", [["id": 1, "name": "a", "age": 1], ["id": 2, "name": "b", "age": 2],
                                                   ["id": "s1", "name": "c"]])
            let some = try await node.ok(["operation": "search_by_id", "database": "dat", "table": "sid",
                                          "ids": [2, 1, 77], "get_attributes": ["name"]])
            let list = try #require(some.arrayValue)
            #expect(list.count == 2, "missing ids are left out")
            #expect(Set(list) == [["name": "b"], ["name": "a"]], "get_attributes projects")
            let hash = try await node.ok(["operation": "search_by_hash", "schema": "dat", "table": "sid",
                                          "hash_values": ["s1"], "get_attributes": ["id", "name"]])
            #expect(hash == [["id": "s1", "name": "c"]])
            let star = try await node.ok(["operation": "search_by_id", "database": "dat", "table": "sid", "ids": [1], "get_attributes": ["*"]])
            let first = try #require(star.arrayValue?.first)
            #expect(first["age"]?.intValue == 1 && first["__createdtime__"] != nil && first["__updatedtime__"] != nil)
            let none = try await node.ok(["operation": "search_by_id", "database": "dat", "table": "sid", "ids": [], "get_attributes": ["*"]])
            #expect(none == [])
        }

        @Test func searchByValueWithWildcards() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("dat", "sbv")
            _ = try await node.insert("dat", "sbv", [
                ["id": 1, "name": "Harper", "age": 5], ["id": 2, "name": "Happy", "age": 7],
                ["id": 3, "name": "Penny", "age": 5], ["id": 4, "name": "Sharp", "age": 9],
            ])
            func search(_ attribute: String, _ value: JSON, _ extra: [String: JSON] = [:]) async throws -> [Int] {
                var body: [String: JSON] = ["operation": "search_by_value", "database": "dat", "table": "sbv",
                                            "attribute": .string(attribute), "value": value, "get_attributes": ["*"]]
                for (k, v) in extra { body[k] = v }
                return try await node.ok(.object(body)).ids()
            }
            #expect(try await search("name", "Harper") == [1])
            #expect(try await search("name", "Ha*") == [1, 2])
            #expect(try await search("name", "*y") == [2, 3])
            #expect(try await search("name", "*arp*") == [1, 4])
            #expect(try await search("name", "*") == [1, 2, 3, 4])
            #expect(try await search("name", "nobody") == [])
            #expect(try await search("age", 5) == [1, 3])
            #expect(try await search("id", 3) == [3])
            #expect(try await search("age", 5, ["limit": 1]).count == 1)
            // search_attribute/search_value are the older names.
            let old = try await node.ok(["operation": "search_by_value", "database": "dat", "table": "sbv",
                                         "search_attribute": "name", "search_value": "Penny", "get_attributes": ["id"]])
            #expect(old == [["id": 3]])
        }

        @Test func schemaKeyAndDefaultDatabase() async throws {
            let node = try TestNode.shared()
            try await node.ok(["operation": "create_table", "schema": "dat", "table": "schm"])
            try await node.ok(["operation": "insert", "schema": "dat", "table": "schm", "records": [["id": 1, "v": "s"]]])
            #expect(try await node.byID("dat", "schm", [1]).first?["v"]?.stringValue == "s")
            // No database at all: `data`.
            _ = try await node.post(["operation": "drop_table", "table": "dflt"])
            try await node.ok(["operation": "create_table", "table": "dflt"])
            try await node.ok(["operation": "insert", "table": "dflt", "records": [["id": 7]]])
            #expect(try await node.byID("data", "dflt", [7]).count == 1)
            let r = try await node.ok(["operation": "search_by_id", "table": "dflt", "ids": [7]])
            #expect(r.ids() == [7])
        }

        @Test func concurrentWritesAllLand() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("dat", "conc")
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for t in 0..<8 {
                    group.addTask {
                        let records: [JSON] = (0..<10).map { ["id": JSON(t * 100 + $0), "task": JSON(t)] }
                        return try await node.post(["operation": "insert", "database": "dat", "table": "conc", "records": .array(records)]).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: 200, count: 8))
            let t = try await node.ok(["operation": "describe_table", "database": "dat", "table": "conc"])
            #expect(t["record_count"]?.intValue == 80)
        }
    }
}
