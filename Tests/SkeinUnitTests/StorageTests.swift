import Foundation
import Testing
import SkeinCore
import SkeinLMDB
@testable import SkeinStorage

@Suite("Storage: registry, schema and record writes")
struct StorageTests {
    // MARK: Registry

    @Test func registryCreatesOpensAndDrops() throws {
        let f = try StorageFixture()
        #expect(f.registry.names() == ["data"])
        #expect(f.registry.exists("data"))
        let (again, created) = try f.registry.create("data")
        #expect(!created)
        #expect(again === f.env)
        #expect(try f.registry.database("data") === f.env)
        #expect(try f.registry.database("missing") == nil)
        let (other, createdOther) = try f.registry.create("other")
        #expect(createdOther)
        #expect(other.name == "other")
        #expect(f.registry.names() == ["data", "other"])
        try f.registry.drop("other")
        #expect(f.registry.names() == ["data"])
        #expect(!f.registry.exists("other"))
        #expect(throws: SkeinError.self) { try f.registry.create("bad name!") }
        #expect(throws: SkeinError.self) { try f.registry.create("__hidden") }
    }

    // MARK: Schema

    @Test func createTableWritesSchemaAndAudit() throws {
        let f = try StorageFixture()
        let message = try f.write { txn, ctx in
            try f.env.createTable(txn, name: "dog", primaryKey: "id", attributes: ["name", "age", "name"], context: ctx)
        }
        #expect(message == "table 'data.dog' successfully created.")
        let schema = try #require(try f.read { try f.env.table($0, "dog") })
        #expect(schema.primaryKey == "id")
        #expect(schema.attributes == ["id", "name", "age", "__createdtime__", "__updatedtime__"])
        #expect(schema.database == "data")
        let audit = try f.audit()
        #expect(audit.count == 1)
        #expect(audit[0].sequence == 1)
        #expect(audit[0].operation == "create_table")
        #expect(audit[0].table == "dog")
        #expect(audit[0].details == schema.json)
        #expect(audit[0].user == "admin")
        #expect(audit[0].origin == "node-a")
    }

    @Test func createTableErrors() throws {
        let f = try StorageFixture()
        try f.createTable()
        for (name, pk) in [("dog", "id"), ("bad name", "id"), ("", "id"), ("ok", "")] {
            #expect(throws: SkeinError.self, "\(name)/\(pk)") {
                try f.write { txn, ctx in try f.env.createTable(txn, name: name, primaryKey: pk, attributes: [], context: ctx) }
            }
        }
        do {
            try f.createTable()
            Issue.record("duplicate table accepted")
        } catch let e as SkeinError {
            #expect(e.status == 400)
            #expect(e.message.contains("already exists"))
        }
        #expect(try f.audit().count == 1)
    }

    // MARK: Writes

    @Test func insertResultShapeAndTimestamps() throws {
        let f = try StorageFixture()
        try f.createTable()
        try f.insert([["id": 1, "name": "Harper"]])
        let ctx = f.context()
        let result = try f.env.lmdb.write { txn throws in
            try f.env.write(txn, table: "dog", records: [["id": 1, "name": "dup"], ["id": 2, "name": "Penny"], ["id": "x", "name": "Bo"]],
                            mode: .insert, context: ctx)
        }
        #expect(result["message"] == "inserted 2 of 3 records")
        #expect(result["inserted_hashes"] == [2, "x"])
        #expect(result["skipped_hashes"] == [1])
        #expect(result["txn_time"] == .number(ctx.txnTime))
        let penny = try #require(try f.record(2))
        #expect(penny["name"] == "Penny")
        #expect(penny["__createdtime__"] == .number(ctx.txnTime))
        #expect(penny["__updatedtime__"] == .number(ctx.txnTime))
        // The skipped record is untouched.
        #expect(try f.record(1)?["name"] == "Harper")
        // Every record of the write carries the write's version and origin.
        let stored = try f.read { txn throws in
            try txn.get(f.env.lmdb.cached(StorageLayout.records("dog"))!, KeyCodec.encode("x")!).flatMap(StoredRecord.decode)
        }
        #expect(stored?.version == ctx.version)
        #expect(stored?.origin == "node-a")
    }

    @Test func clientTimestampsAreIgnored() throws {
        let f = try StorageFixture()
        try f.createTable()
        try f.insert([["id": 1, "__createdtime__": 5, "__updatedtime__": 6]])
        let r = try #require(try f.record(1))
        #expect(r["__createdtime__"] != 5)
        #expect(r["__updatedtime__"] != 6)
    }

    @Test func idIsGeneratedWhenMissing() throws {
        let f = try StorageFixture()
        try f.createTable()
        let result = try f.insert([["name": "anon"], ["id": nil, "name": "null id"]])
        let ids = try #require(result["inserted_hashes"]?.arrayValue)
        #expect(ids.count == 2)
        for id in ids {
            let s = try #require(id.stringValue)
            #expect(UUID(uuidString: s) != nil)
            #expect(s == s.lowercased())
            #expect(try f.record(id)?["id"] == id)
        }
        #expect(ids[0] != ids[1])
    }

    @Test func invalidRecordsRejectTheWholeRequest() throws {
        let f = try StorageFixture()
        try f.createTable()
        let bad: [[JSON]] = [
            [["id": 1], "not an object"],
            [["id": 1], ["id": [1, 2]]],
            [["id": 1], ["id": .string(String(repeating: "k", count: KeyCodec.maxKeyBytes + 1))]],
            [["id": 1], ["id": 2, "bad\u{01}attr": 1]],
        ]
        for records in bad {
            #expect(throws: SkeinError.self) { try f.insert(records) }
        }
        #expect(try f.allRecords().isEmpty)
        #expect(try f.audit().count == 1)
        #expect(throws: SkeinError.self) { try f.insert([["id": 1]], table: "cat") }
    }

    @Test func updateMergesAndSkipsMissing() throws {
        let f = try StorageFixture()
        try f.createTable()
        try f.insert([["id": 1, "name": "Harper", "age": 5]])
        let created = try #require(try f.record(1)?["__createdtime__"])
        let ctx = f.context()
        let result = try f.env.lmdb.write { txn throws in
            try f.env.write(txn, table: "dog", records: [["id": 1, "age": 6, "color": "brown"], ["id": 9, "age": 1]], mode: .update, context: ctx)
        }
        #expect(result["message"] == "updated 1 of 2 records")
        #expect(result["update_hashes"] == [1])
        #expect(result["skipped_hashes"] == [9])
        #expect(result["txn_time"] == .number(ctx.txnTime))
        let r = try #require(try f.record(1))
        #expect(r["name"] == "Harper")
        #expect(r["age"] == 6)
        #expect(r["color"] == "brown")
        #expect(r["__createdtime__"] == created)
        #expect(r["__updatedtime__"] == .number(ctx.txnTime))
        #expect(try f.record(9) == nil)
        // New attributes join the schema.
        #expect(try f.read { try f.env.table($0, "dog") }?.attributes.contains("color") == true)
        // Update needs the primary key.
        #expect(throws: SkeinError.self) { try f.insert([["age": 1]], mode: .update) }
    }

    @Test func upsertInsertsAndUpdates() throws {
        let f = try StorageFixture()
        try f.createTable()
        try f.insert([["id": 1, "name": "Harper", "age": 5]])
        let ctx = f.context()
        let result = try f.env.lmdb.write { txn throws in
            try f.env.write(txn, table: "dog", records: [["id": 1, "age": 6], ["id": 2, "name": "Penny"]], mode: .upsert, context: ctx)
        }
        #expect(result["message"] == "upserted 2 of 2 records")
        #expect(result["upserted_hashes"] == [1, 2])
        #expect(result["skipped_hashes"] == nil)
        #expect(result["txn_time"] == .number(ctx.txnTime))
        #expect(try f.record(1)?["name"] == "Harper")
        #expect(try f.record(1)?["age"] == 6)
        #expect(try f.record(2)?["__createdtime__"] == .number(ctx.txnTime))
    }

    @Test func deleteResultShape() throws {
        let f = try StorageFixture()
        try f.createTable()
        try f.insert([["id": 1, "name": "a"], ["id": 2, "name": "b"]])
        let ctx = f.context()
        let result = try f.env.lmdb.write { txn throws in try f.env.delete(txn, table: "dog", ids: [1, 3], context: ctx) }
        #expect(result["message"] == "1 of 2 records successfully deleted")
        #expect(result["deleted_hashes"] == [1])
        #expect(result["skipped_hashes"] == [3])
        #expect(result["txn_time"] == .number(ctx.txnTime))
        #expect(try f.record(1) == nil)
        #expect(try f.record(2) != nil)
        // A tombstone keeps the delete's version.
        let tomb = try f.read { txn throws in try txn.get(f.env.lmdb.cached(StorageLayout.tombstones("dog"))!, KeyCodec.encode(1)!) }
        #expect(tomb.map { KeyCodec.decodeUInt64($0.prefix(8)) } == ctx.version.rawValue)
        #expect(tomb.map { Array($0.dropFirst(8)) } == Array("node-a".utf8))
        // Deleted records leave the indexes too.
        let hits = try f.read { try f.env.search($0, table: "dog", condition: .leaf(attribute: "name", comparator: .equals, value: "a"), options: .init()) }
        #expect(hits.isEmpty)
        #expect(throws: SkeinError.self) { try f.write { txn, ctx in try f.env.delete(txn, table: "dog", ids: [["a": 1]], context: ctx) } }
        // Re-inserting after a delete clears the tombstone.
        try f.insert([["id": 1, "name": "again"]])
        #expect(try f.read { txn throws in try txn.get(f.env.lmdb.cached(StorageLayout.tombstones("dog"))!, KeyCodec.encode(1)!) } == nil)
    }

    // MARK: Audit log

    @Test func eachWriteAppendsOneAuditEntryInSequence() throws {
        let f = try StorageFixture()
        try f.createTable()
        var versions: [HLCTimestamp] = []
        func wrote(_ body: (LMDBTransaction, WriteContext) throws -> JSON) throws {
            try f.write { txn, ctx in versions.append(ctx.version); return try body(txn, ctx) }
        }
        try wrote { txn, ctx in try f.env.write(txn, table: "dog", records: [["id": 1, "n": "a"], ["id": 2, "n": "b"]], mode: .insert, context: ctx) }
        try wrote { txn, ctx in try f.env.write(txn, table: "dog", records: [["id": 1, "n": "A"]], mode: .update, context: ctx) }
        try wrote { txn, ctx in try f.env.write(txn, table: "dog", records: [["id": 2, "n": "B"], ["id": 3, "n": "c"]], mode: .upsert, context: ctx) }
        try wrote { txn, ctx in try f.env.delete(txn, table: "dog", ids: [1, 99], context: ctx) }
        // Writes that change nothing leave no entry.
        try f.insert([["id": 2, "n": "dup"]])
        try f.insert([["id": 42]], mode: .update)
        try f.write { txn, ctx in try f.env.delete(txn, table: "dog", ids: [1], context: ctx) }

        let audit = try f.audit()
        #expect(audit.map(\.sequence) == [1, 2, 3, 4, 5])
        #expect(audit.map(\.operation) == ["create_table", "insert", "update", "upsert", "delete"])
        #expect(Array(audit.dropFirst().map(\.version)) == versions)
        #expect(audit.allSatisfy { $0.table == "dog" && $0.user == "admin" && $0.origin == "node-a" })

        let insert = audit[1]
        #expect(insert.ids == [1, 2])
        #expect(insert.records.map { $0["n"] } == ["a", "b"])
        #expect(insert.previous == [nil, nil])

        let update = audit[2]
        #expect(update.ids == [1])
        #expect(update.records.first?["n"] == "A")
        #expect(update.previous.first?["n"] == "a")
        #expect(update.records.first?["__updatedtime__"] == .number(Double(versions[1].millis)))

        let upsert = audit[3]
        #expect(upsert.ids == [2, 3])
        #expect(upsert.previous.map { $0["n"] ?? nil } == ["b", nil])
        #expect(upsert.previous[1].isNull)

        let delete = audit[4]
        #expect(delete.ids == [1])
        #expect(delete.records == [])
        #expect(delete.previous.first?["n"] == "A")
        #expect(try f.read { try f.env.lastSequence($0) } == 5)
        #expect(try f.read { try f.env.oldestSequence($0) } == 1)
        #expect(try f.read { try f.env.lastVersion($0) } == versions.last)
        // Reading from the middle.
        #expect(try f.audit(from: 4).map(\.sequence) == [4, 5])
        #expect(try f.read { try f.env.auditEntries($0, from: 2, limit: 2) }.map(\.sequence) == [2, 3])
    }

    @Test func auditCanBeDisabled() throws {
        let f = try StorageFixture()
        try f.createTable()
        let ctx = WriteContext(version: f.clock.tick(now: f.now + 10), origin: "node-a", user: nil, auditEnabled: false)
        try f.env.lmdb.write { txn throws in _ = try f.env.write(txn, table: "dog", records: [["id": 1]], mode: .insert, context: ctx) }
        #expect(try f.audit().count == 1)
        #expect(try f.record(1) != nil)
    }

    @Test func failedRequestInChildTransactionLeavesNoTrace() throws {
        let f = try StorageFixture()
        try f.createTable()
        struct LaterFailure: Error {}
        let group = try f.env.lmdb.beginWrite()
        // Request 1 succeeds.
        let ok = try group.child()
        _ = try f.env.write(ok, table: "dog", records: [["id": 1, "name": "kept"]], mode: .insert, context: f.context())
        try ok.commit()
        // Request 2 writes, then fails: its child is aborted.
        let failed = try group.child()
        do {
            _ = try f.env.write(failed, table: "dog", records: [["id": 2, "name": "lost", "newattr": 1]], mode: .insert, context: f.context())
            throw LaterFailure()
        } catch {
            failed.abort()
        }
        // Request 3 is rejected by validation.
        let rejected = try group.child()
        #expect(throws: SkeinError.self) {
            try f.env.write(rejected, table: "dog", records: [["name": "no id"]], mode: .update, context: f.context())
        }
        rejected.abort()
        // Request 4 succeeds after the failures.
        let ok2 = try group.child()
        _ = try f.env.delete(ok2, table: "dog", ids: [1], context: f.context())
        try ok2.commit()
        try group.commit()

        let audit = try f.audit()
        #expect(audit.map(\.sequence) == [1, 2, 3])
        #expect(audit.map(\.operation) == ["create_table", "insert", "delete"])
        #expect(audit.allSatisfy { !$0.ids.contains(2) })
        #expect(try f.record(2) == nil)
        #expect(try f.read { try f.env.table($0, "dog") }?.attributes.contains("newattr") == false)
        // The next write continues the sequence without a gap.
        try f.insert([["id": 5]])
        #expect(try f.audit().map(\.sequence) == [1, 2, 3, 4])
    }

    // MARK: Schema changes

    @Test func createAndDropAttribute() throws {
        let f = try StorageFixture()
        try f.createTable()
        try f.insert([["id": 1, "name": "a", "color": "red"], ["id": 2, "name": "b"], ["id": 3, "color": "blue"]])
        try f.catchUpIndexes()
        let id = try #require(try f.read { try f.env.table($0, "dog") }?.storageID)
        #expect(f.env.indexes?.publishedHandles(id, "color").isEmpty == false)
        let message = try f.write { txn, ctx in try f.env.dropAttribute(txn, table: "dog", attribute: "color", context: ctx) }
        #expect(message == "successfully deleted attribute 'color'")
        #expect(try f.allRecords().allSatisfy { $0["color"] == nil })
        #expect(try f.record(1)?["name"] == "a")
        let schema = try #require(try f.read { try f.env.table($0, "dog") })
        #expect(!schema.attributes.contains("color"))
        // The index goes with the next catch-up, with nothing else waiting.
        try f.catchUpIndexes()
        #expect(try !namedDatabaseExists(try #require(f.env.indexes).lmdb, IndexEnvironment.indexName(id, "color")))
        #expect(try namedDatabaseExists(try #require(f.env.indexes).lmdb, IndexEnvironment.indexName(id, "name")))
        let last = try #require(try f.audit().last)
        #expect(last.operation == "drop_attribute")
        #expect(last.details == ["attribute": "color"])
        // Protected attributes.
        for a in ["id", "__createdtime__", "nope"] {
            #expect(throws: SkeinError.self, "\(a)") {
                try f.write { txn, ctx in try f.env.dropAttribute(txn, table: "dog", attribute: a, context: ctx) }
            }
        }
        // create_attribute adds it back (empty) with an index.
        try f.write { txn, ctx in _ = try f.env.createAttribute(txn, table: "dog", attribute: "color", context: ctx) }
        #expect(try f.read { try f.env.table($0, "dog") }?.attributes.contains("color") == true)
        #expect(try f.audit().last?.operation == "create_attribute")
        #expect(throws: SkeinError.self) {
            try f.write { txn, ctx in try f.env.createAttribute(txn, table: "dog", attribute: "color", context: ctx) }
        }
    }

    @Test func dropTableRemovesEverything() throws {
        let f = try StorageFixture()
        try f.createTable()
        try f.createTable("cat")
        try f.insert([["id": 1, "name": "a", "age": 3]])
        let message = try f.write { txn, ctx in try f.env.dropTable(txn, name: "dog", context: ctx) }
        #expect(message == "successfully deleted table 'data.dog'")
        #expect(try f.read { try f.env.table($0, "dog") } == nil)
        #expect(try f.read { try f.env.tables($0) }.map(\.name) == ["cat"])
        for gone in ["t:dog", "x:dog", "i:dog:name", "i:dog:age", "i:dog:__createdtime__"] {
            #expect(try !namedDatabaseExists(f.env.lmdb, gone), "\(gone)")
        }
        #expect(try namedDatabaseExists(f.env.lmdb, "t:cat"))
        #expect(try f.audit().last?.operation == "drop_table")
        #expect(throws: SkeinError.self) { try f.write { txn, ctx in try f.env.dropTable(txn, name: "dog", context: ctx) } }
        #expect(throws: SkeinError.self) { try f.read { try f.env.requireTable($0, "dog") } }
        // The name can be used again, empty.
        try f.createTable()
        #expect(try f.allRecords().isEmpty)
    }

    @Test func describeTable() throws {
        let f = try StorageFixture()
        try f.createTable(attributes: ["name"])
        try f.insert([["id": 1, "name": "a"], ["id": 2, "name": "b"]])
        let d = try f.read { txn throws in try f.env.describe(txn, try f.env.requireTable(txn, "dog")) }
        #expect(d["record_count"] == 2)
        #expect(d["hash_attribute"] == "id")
        #expect(d["schema"] == "data")
        #expect(d["name"] == "dog")
        #expect(d["attributes"]?.arrayValue?.first == ["attribute": "id", "is_primary_key": true, "indexed": true])
        #expect(d["last_updated_record"]?.doubleValue != nil)
    }

    @Test func dataSurvivesReopen() throws {
        let f = try StorageFixture()
        try f.createTable()
        try f.insert([["id": 1, "name": "a"]])
        f.registry.closeAll()
        let registry = try DatabaseRegistry(dataDir: f.dir + "/database", mapSize: 1 << 28)
        defer { registry.closeAll() }
        let env = try #require(try registry.database("data"))
        try env.openAllTables()
        let found = try env.lmdb.read { try env.searchByID($0, table: "dog", ids: [1, "1", 2], attributes: ["name"]) }
        #expect(found == [["name": "a"]])
        #expect(try env.lmdb.read { try env.lastSequence($0) } == 2)
    }
}
