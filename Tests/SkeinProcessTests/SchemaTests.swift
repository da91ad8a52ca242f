import SkeinCore
import Testing

extension ProcessTests {
    @Suite(.node())
    struct Schema {
        @Test func createDatabaseAndDuplicate() async throws {
            let node = try TestNode.shared()
            let r = try await node.ok(["operation": "create_database", "database": "sch1"])
            #expect(r["message"]?.stringValue == "database 'sch1' successfully created")
            let message = try await node.fails(["operation": "create_database", "database": "sch1"], 400)
            #expect(message.contains("already exists"))
            let all = try await node.ok(["operation": "describe_all"])
            #expect(all["sch1"]?.objectValue == [:])
        }

        @Test func createSchemaAlias() async throws {
            let node = try TestNode.shared()
            let r = try await node.ok(["operation": "create_schema", "schema": "sch2"])
            #expect(r["message"]?.stringValue == "database 'sch2' successfully created")
            try await node.fails(["operation": "create_schema", "schema": "sch2"], 400)
            let d = try await node.ok(["operation": "describe_schema", "schema": "sch2"])
            #expect(d.objectValue == [:])
            let dropped = try await node.ok(["operation": "drop_schema", "schema": "sch2"])
            #expect(dropped["message"]?.stringValue == "successfully deleted 'sch2'")
        }

        @Test func defaultDatabaseIsData() async throws {
            let node = try TestNode.shared()
            let all = try await node.ok(["operation": "describe_all"])
            #expect(all["data"] != nil)
            #expect(all["system"] == nil, "describe_all must not show the system database")
            let created = try await node.ok(["operation": "create_table", "table": "deftable"])
            #expect(created["message"]?.stringValue == "table 'data.deftable' successfully created.")
            let d = try await node.ok(["operation": "describe_table", "table": "deftable"])
            #expect(d["schema"]?.stringValue == "data")
            #expect(d["hash_attribute"]?.stringValue == "id")
        }

        @Test func describeShapes() async throws {
            let node = try TestNode.shared()
            try await node.ok(["operation": "create_database", "database": "sch3"])
            let created = try await node.ok(["operation": "create_table", "database": "sch3", "table": "dog",
                                             "primary_key": "dog_id", "attributes": ["name", ["name": "breed"]]])
            #expect(created["message"]?.stringValue == "table 'sch3.dog' successfully created.")
            _ = try await node.insert("sch3", "dog", [["dog_id": 1, "name": "Rex", "breed": "lab", "age": 3],
                                                     ["dog_id": 2, "name": "Ace"]])

            let t = try await node.ok(["operation": "describe_table", "database": "sch3", "table": "dog"])
            #expect(t["schema"]?.stringValue == "sch3")
            #expect(t["name"]?.stringValue == "dog")
            #expect(t["hash_attribute"]?.stringValue == "dog_id")
            #expect(t["record_count"]?.intValue == 2)
            #expect(t["last_updated_record"]?.doubleValue != nil)
            let attributes = try #require(t["attributes"]?.arrayValue)
            let names = Set(attributes.compactMap { $0["attribute"]?.stringValue })
            #expect(names.isSuperset(of: ["dog_id", "name", "breed", "age", "__createdtime__", "__updatedtime__"]))
            let primary = attributes.filter { $0["is_primary_key"]?.boolValue == true }
            #expect(primary.count == 1)
            #expect(primary.first?["attribute"]?.stringValue == "dog_id")

            let db = try await node.ok(["operation": "describe_database", "database": "sch3"])
            #expect(db.objectValue.map { Array($0.keys) } == ["dog"])
            #expect(db["dog"]?["record_count"]?.intValue == 2)
            #expect(db["dog"]?["hash_attribute"]?.stringValue == "dog_id")

            let all = try await node.ok(["operation": "describe_all"])
            #expect(all["sch3"]?["dog"]?["hash_attribute"]?.stringValue == "dog_id")
            #expect(all["sch3"]?["dog"]?["record_count"]?.intValue == 2)
        }

        /// Harper's `table_size` and `db_audit_size`: bytes of LMDB pages (a multiple of the
        /// page size), growing as records are written; no `estimated_record_range`, since
        /// `record_count` is exact.
        @Test func describeSizes() async throws {
            let node = try TestNode.shared()
            _ = try await node.post(["operation": "drop_table", "database": "sch4", "table": "big"])
            try await node.ok(["operation": "create_table", "database": "sch4", "table": "big", "primary_key": "id"])
            let empty = try await node.ok(["operation": "describe_table", "database": "sch4", "table": "big"])
            let emptySize = try #require(empty["table_size"]?.intValue, "\(empty)")
            let emptyAudit = try #require(empty["db_audit_size"]?.intValue, "\(empty)")
            let filler = String(repeating: "x", count: 500)
            _ = try await node.insert("sch4", "big", (1...400).map { ["id": JSON($0), "text": .string(filler)] })
            let full = try await node.ok(["operation": "describe_table", "database": "sch4", "table": "big"])
            let size = try #require(full["table_size"]?.intValue), audit = try #require(full["db_audit_size"]?.intValue)
            #expect(size >= 400 * 500 && size > emptySize, "\(empty) → \(full)")
            #expect(audit >= 400 * 500 && audit > emptyAudit, "\(empty) → \(full)")
            #expect(size % 4096 == 0 && audit % 4096 == 0, "whole pages: \(full)")
            #expect(full["record_count"]?.intValue == 400)
            #expect(full["estimated_record_range"] == nil, "\(full)")
            let all = try await node.ok(["operation": "describe_all"])
            #expect(all["sch4"]?["big"]?["table_size"]?.intValue == size)
        }

        /// Declared types: a numeric primary key numbers records written without one (each
        /// node in a range of its own); describe_table shows the types; unknown types are 400.
        @Test func declaredTypesAndNumericIds() async throws {
            let node = try TestNode.shared()
            _ = try await node.post(["operation": "drop_table", "database": "typed", "table": "order"])
            try await node.ok(["operation": "create_table", "database": "typed", "table": "order", "primary_key": "id",
                               "attributes": [["name": "id", "type": "Long"], ["name": "item", "type": "String", "indexed": true]]])
            let r = try await node.insert("typed", "order", [["item": "tea"], ["item": "cake"]])
            let ids = (r["inserted_hashes"]?.arrayValue ?? []).compactMap(\.doubleValue)
            #expect(ids.count == 2 && ids[1] == ids[0] + 1, "\(r)")
            let described = try await node.ok(["operation": "describe_table", "database": "typed", "table": "order"])
            let types = Dictionary(uniqueKeysWithValues: (described["attributes"]?.arrayValue ?? []).compactMap { a in
                a["type"]?.stringValue.map { (a["attribute"]?.stringValue ?? "", $0) }
            })
            #expect(types == ["id": "Long", "item": "String"], "\(described)")
            #expect(try await node.byID("typed", "order", [.number(ids[0])]).first?["item"] == "tea")
            let bad = try await node.fails(["operation": "create_table", "database": "typed", "table": "bad", "primary_key": "id",
                                            "attributes": [["name": "id", "type": "Integer"]]], 400)
            #expect(bad.contains("'attributes[0].type' must be one of"), "\(bad)")
        }

        @Test func createTableWithHashAttributeAlias() async throws {
            let node = try TestNode.shared()
            try await node.ok(["operation": "create_table", "database": "sch4", "table": "cat", "hash_attribute": "cat_id"])
            let t = try await node.ok(["operation": "describe_table", "schema": "sch4", "table": "cat"])
            #expect(t["hash_attribute"]?.stringValue == "cat_id")
            let r = try await node.insert("sch4", "cat", [["cat_id": "tom", "lives": 9]])
            #expect(r["inserted_hashes"] == ["tom"])
            let message = try await node.fails(["operation": "create_table", "database": "sch4", "table": "cat"], 400)
            #expect(message.contains("already exists"))
        }

        @Test func createAndDropAttribute() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("sch5", "bird")
            _ = try await node.insert("sch5", "bird", [["id": 1, "wings": 2, "color": "red"]])
            let c = try await node.ok(["operation": "create_attribute", "database": "sch5", "table": "bird", "attribute": "beak"])
            #expect(c["message"]?.stringValue?.contains("beak") == true)
            var attrs = try await attributeNames(node, "sch5", "bird")
            #expect(attrs.contains("beak"))
            try await node.fails(["operation": "create_attribute", "database": "sch5", "table": "bird", "attribute": "beak"], 400)

            let d = try await node.ok(["operation": "drop_attribute", "database": "sch5", "table": "bird", "attribute": "color"])
            #expect(d["message"]?.stringValue?.contains("color") == true)
            attrs = try await attributeNames(node, "sch5", "bird")
            #expect(!attrs.contains("color"))
            #expect(attrs.contains("wings"))
            // The values go with the attribute.
            let records = try await node.byID("sch5", "bird", [1])
            #expect(records.first?["color"] == nil)
            #expect(records.first?["wings"]?.intValue == 2)
            // Harper: an attribute the table does not have is `unknown attribute` (validation/searchValidator.js).
            let found = try await node.fails(["operation": "search_by_value", "database": "sch5", "table": "bird",
                                              "attribute": "color", "value": "red"], 400)
            #expect(found == "unknown attribute 'color'")
            try await node.fails(["operation": "drop_attribute", "database": "sch5", "table": "bird", "attribute": "color"], 404)
            try await node.fails(["operation": "drop_attribute", "database": "sch5", "table": "bird", "attribute": "id"], 400)
        }

        @Test func dropTable() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("sch6", "fish")
            _ = try await node.insert("sch6", "fish", [["id": 1]])
            let r = try await node.ok(["operation": "drop_table", "database": "sch6", "table": "fish"])
            #expect(r["message"]?.stringValue == "successfully deleted table 'sch6.fish'")
            try await node.fails(["operation": "describe_table", "database": "sch6", "table": "fish"], 404)
            try await node.fails(["operation": "search_by_id", "database": "sch6", "table": "fish", "ids": [1]], 404)
            try await node.fails(["operation": "drop_table", "database": "sch6", "table": "fish"], 404)
            let db = try await node.ok(["operation": "describe_database", "database": "sch6"])
            #expect(db["fish"] == nil)
            // The name can be used again, and starts empty.
            try await node.ok(["operation": "create_table", "database": "sch6", "table": "fish"])
            let again = try await node.ok(["operation": "describe_table", "database": "sch6", "table": "fish"])
            #expect(again["record_count"]?.intValue == 0)
            #expect(try await node.byID("sch6", "fish", [1]).isEmpty)
        }

        @Test func dropDatabase() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("sch7", "ant")
            _ = try await node.insert("sch7", "ant", [["id": 1]])
            let r = try await node.ok(["operation": "drop_database", "database": "sch7"])
            #expect(r["message"]?.stringValue == "successfully deleted 'sch7'")
            try await node.fails(["operation": "describe_database", "database": "sch7"], 404)
            try await node.fails(["operation": "describe_table", "database": "sch7", "table": "ant"], 404)
            let all = try await node.ok(["operation": "describe_all"])
            #expect(all["sch7"] == nil)
            try await node.fails(["operation": "drop_database", "database": "sch7"], 404)
            // Re-created, it is empty.
            try await node.ok(["operation": "create_database", "database": "sch7"])
            let db = try await node.ok(["operation": "describe_database", "database": "sch7"])
            #expect(db.objectValue == [:])
        }

        /// A create_table that fails validation must leave no trace, not even the database
        /// it would have created.
        @Test
        func failedCreateTableCreatesNoDatabase() async throws {
            let node = try TestNode.shared()
            try await node.fails(["operation": "create_table", "database": "sch_ghost", "table": "a/b"], 400)
            try await node.fails(["operation": "create_table", "database": "sch_ghost2", "table": "ok", "primary_key": "bad\u{1}key"], 400)
            let all = try await node.ok(["operation": "describe_all"])
            #expect(all["sch_ghost"] == nil, "a rejected create_table created database 'sch_ghost'")
            #expect(all["sch_ghost2"] == nil, "a rejected create_table created database 'sch_ghost2'")
            try await node.fails(["operation": "describe_database", "database": "sch_ghost"], 404)
        }

        @Test func dropAndRecreateDatabase() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("sch8", "t")
            _ = try await node.insert("sch8", "t", [["id": 1, "v": "a"]])
            try await node.ok(["operation": "drop_database", "database": "sch8"])
            try await node.fails(["operation": "read_audit_log", "database": "sch8", "table": "t"], 404)
            try await node.ok(["operation": "create_table", "database": "sch8", "table": "t"])
            _ = try await node.insert("sch8", "t", [["id": 2, "v": "b"]])
            #expect(try await node.byID("sch8", "t", [1, 2]).ids() == [2])
            let found = try await node.ok(["operation": "search_by_value", "database": "sch8", "table": "t", "attribute": "v", "value": "*"])
            #expect(found.ids() == [2])
            // auditd sees the new database, not the dropped one.
            let log = try await node.auditLog("sch8", "t")
            let ids = log.flatMap { $0["hash_values"]?.arrayValue ?? [] }
            #expect(ids == [2])
        }

        func attributeNames(_ node: TestNode, _ db: String, _ table: String) async throws -> Set<String> {
            let t = try await node.ok(["operation": "describe_table", "database": .string(db), "table": .string(table)])
            return Set((t["attributes"]?.arrayValue ?? []).compactMap { $0["attribute"]?.stringValue })
        }
    }
}
