import Foundation
import SkeinCore
import SkeinLMDB
import Testing
@testable import SkeinStorage

/// Harper's declared attributes: a table created with `attributes: [{name, indexed}]`
/// indexes only those marked (and the timestamps); the others are stored and searched by a
/// scan. A dynamic table indexes every attribute.
@Suite("Declared indexes")
struct DeclaredIndexTests {
    @Test func onlyDeclaredAttributesAreIndexedAndSearchesStayExact() throws {
        let f = try StorageFixture()
        try f.write { txn, ctx in
            _ = try f.env.createTable(txn, name: "dog", primaryKey: "id", attributes: ["name", "body"], indexed: ["name"], context: ctx)
        }
        try f.insert([["id": 1, "name": "Rex", "body": "long text", "extra": 7], ["id": 2, "name": "Ace", "body": "other", "extra": 8]])
        let schema = try #require(try f.read { try f.env.table($0, "dog") })
        #expect(schema.isIndexed("name") && !schema.isIndexed("body") && !schema.isIndexed("extra") && schema.isIndexed("__createdtime__"))
        try f.catchUpIndexes()
        let id = try #require(schema.storageID)
        let handles = ["name", "body", "extra"].map { f.env.indexes?.publishedHandles(id, $0).isEmpty == false }
        #expect(handles == [true, false, false], "indexes of name, body (not indexed), extra (seen later)")
        for (attribute, value, id) in [("name", JSON("Rex"), 1), ("body", JSON("other"), 2), ("extra", JSON(7), 1)] {
            let rows = try f.read {
                try f.env.search($0, table: "dog", condition: .leaf(attribute: attribute, comparator: .equals, value: value), options: DatabaseEnvironment.SearchOptions())
            }
            #expect(rows.map { $0["id"] } == [JSON(id)], "\(attribute)")
        }
        let described = try f.read { try f.env.describe($0, schema) }
        #expect(described["schema_defined"] == true)
        let flags = Dictionary(uniqueKeysWithValues: (described["attributes"]?.arrayValue ?? []).map { ($0["attribute"]?.stringValue ?? "", $0["indexed"]) })
        #expect(flags["name"] == true && flags["body"] == false && flags["extra"] == false && flags["id"] == true)
        // The description survives the catalog (and a peer's create_table) as it was.
        #expect(TableSchema(json: schema.json)?.indexed == schema.indexed)
    }
}
