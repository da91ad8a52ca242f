import SkeinCore
import SkeinLMDB
import Testing
@testable import SkeinStorage

/// A peer that gets a table's records before the table's creation creates the table from
/// the record entry: with the origin's TTL, declared attributes, indexes and types, not as
/// a bare dynamic table that never expires.
@Suite("Storage: tables created from record entries")
struct RecordEntryTableTests {
    typealias Node = ReplicationApplyTests.Node

    @Test func aTableCreatedFromARecordEntryHasTheOriginsSettings() throws {
        let a = try Node("node-a"), b = try Node("node-b")
        try a.f.write { txn, ctx in
            _ = try a.f.env.createTable(txn, name: "late", primaryKey: "code", attributes: ["kind", "origin", "body"], indexed: ["kind", "origin"],
                                        types: ["code": "ID", "origin": "String"], expiration: 3600, context: ctx)
        }
        try a.f.write { txn, ctx in
            _ = try a.f.env.write(txn, table: "late", records: [["code": "x1", "kind": "k", "origin": "field", "extra": 1]], mode: .insert, context: ctx)
        }
        // What node-a publishes (its origin read from the stored bytes), less the table's creation.
        let published = try a.f.read { try a.f.env.readLog($0, from: 1, limit: 100, origins: ["node-a"]) }.entries
        let records = published.filter { $0.table == "late" && $0.operation != "create_table" }
        #expect(records.map(\.operation) == ["insert"], "\(published.map(\.operation))")
        try b.apply(records, from: "node-a", through: try a.lastSequence)

        let origin = try #require(try a.f.read { try a.f.env.table($0, "late") })
        let peer = try #require(try b.f.read { try b.f.env.table($0, "late") }, "node-b created the table from the record entry")
        #expect(peer.expiration == 3600 && peer.expirationMillis == origin.expirationMillis)
        #expect(peer.indexed == origin.indexed && peer.types == origin.types && peer.audit)
        #expect(peer.attributes == origin.attributes)
        #expect(peer.describe(recordCount: 1)["attributes"] == origin.describe(recordCount: 1)["attributes"])
        #expect(try b.f.allRecords("late").map { $0["extra"] } == [1])
    }

    /// Of its table, a dynamic table's entry names only the primary key (its records bring
    /// their attributes, which `record_attributes` lists for the receiver to learn).
    @Test func aDynamicTablesEntryNamesOnlyItsPrimaryKey() throws {
        let f = try StorageFixture()
        try f.createTable()
        try f.insert([["id": 1, "name": "Rex"]])
        let entry = try #require(try f.audit().first { $0.operation == "insert" })
        #expect(entry.details == ["primary_key": "id", "record_attributes": ["__createdtime__", "__updatedtime__", "id", "name"]])
        let schema = TableSchema(recordEntry: entry.details, database: "data", name: "dog", primaryKey: "id")
        #expect(schema.indexed == nil && schema.expiration == nil && schema.types.isEmpty)
    }
}
