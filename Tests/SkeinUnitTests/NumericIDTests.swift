import Foundation
import SkeinCore
import SkeinLMDB
import Testing
@testable import SkeinStorage

/// Records without a primary key in a table whose key is declared numeric get numbers from
/// a range of this node's own (Harper's `getNewId`); other tables get UUIDs.
@Suite("Numeric ids")
struct NumericIDTests {
    func table(_ f: StorageFixture, _ name: String, type: String?) throws {
        try f.write { txn, ctx in
            _ = try f.env.createTable(txn, name: name, primaryKey: "id", attributes: ["name"], indexed: [],
                                      types: type.map { ["id": $0] } ?? [:], context: ctx)
        }
    }

    func ids(_ result: JSON) -> [JSON] { result["inserted_hashes"]?.arrayValue ?? [] }

    @Test func aNumericKeyCountsUpThroughARangeThatSurvivesCommits() throws {
        let f = try StorageFixture()
        try table(f, "dog", type: "Long")
        let first = ids(try f.insert([["name": "a"], ["name": "b"]]))
        let second = ids(try f.insert([["name": "c"]]))
        let numbers = (first + second).compactMap(\.doubleValue).map { UInt64($0) }
        #expect(numbers.count == 3 && numbers[1] == numbers[0] + 1 && numbers[2] == numbers[1] + 1, "\(numbers)")
        #expect(numbers.allSatisfy { $0 < (1 << 49) })
        let stored = try f.allRecords().compactMap { $0["id"] }
        #expect(Set(stored) == Set(first + second))
        // A described key shows its type.
        let schema = try #require(try f.read { try f.env.table($0, "dog") })
        #expect(schema.describe(recordCount: 3)["attributes"]?.arrayValue?.first { $0["attribute"] == "id" }?["type"] == "Long")
        #expect(TableSchema(json: schema.json)?.types == ["id": "Long"], "types travel with the schema to peers")
    }

    @Test func takenIdsAreSkippedAndAUsedUpIntRangeMovesOn() throws {
        let f = try StorageFixture()
        try table(f, "cat", type: "Int")
        let start = UInt64(try #require(ids(try f.insert([["name": "first"]], table: "cat")).first?.doubleValue))
        // A peer's records land on the next two ids of this node's range.
        try f.insert([["id": .number(Double(start + 1)), "name": "peer"], ["id": .number(Double(start + 2)), "name": "peer"]], table: "cat")
        let next = try #require(ids(try f.insert([["name": "mine"]], table: "cat")).first?.doubleValue)
        #expect(UInt64(next) == start + 3)
        // 1,024 ids per Int range: writing past it takes a new range; no id is handed out twice.
        let many: [JSON] = (0..<1100).map { _ in ["name": "x"] }
        let handed = ids(try f.insert(many, table: "cat")).compactMap(\.doubleValue)
        #expect(handed.count == 1100 && Set(handed).count == 1100 && !handed.contains(next))
        #expect(handed.allSatisfy { $0 >= 1 && $0 < Double(1 << 31) })
    }

    @Test func otherTablesGetUUIDs() throws {
        let f = try StorageFixture()
        try table(f, "bird", type: "String")
        try table(f, "fish", type: nil)
        for name in ["bird", "fish"] {
            let id = try #require(ids(try f.insert([["name": "n"]], table: name)).first?.stringValue)
            #expect(UUID(uuidString: id) != nil, "\(name): \(id)")
        }
        #expect(throws: SkeinError.self) {
            try f.write { txn, ctx in _ = try f.env.createTable(txn, name: "bad", primaryKey: "id", attributes: [], types: ["id": "Integer"], context: ctx) }
        }
    }
}
