import Foundation
import Testing
import SkeinCore
import SkeinLMDB
@testable import SkeinStorage

@Suite("Storage: search")
struct StorageSearchTests {
    static let breeds = ["lab", "labradoodle", "beagle", "boxer", "collie", "corgi", "pug"]

    /// 300 dogs with numeric, string, array and sometimes-missing attributes; their index
    /// entries caught up unless `caughtUp` is false (then all are in the backlog).
    static func populated(caughtUp: Bool = true) throws -> StorageFixture {
        let f = try StorageFixture()
        try f.createTable(attributes: ["name", "age"])
        var rng = SplitMix(seed: 11)
        var records: [JSON] = []
        for i in 0..<300 {
            var r: [String: JSON] = ["id": .number(Double(i)), "name": .string("dog-\(String(format: "%03d", i))")]
            r["age"] = .number(Double(rng.next() % 20) + (i % 4 == 0 ? 0.5 : 0))
            if i % 5 != 0 { r["breed"] = .string(breeds[Int(rng.next() % UInt64(breeds.count))]) }
            r["weight"] = .number(Double(Int64(rng.next() % 900)) / 10 - 10) // negatives too
            r["tags"] = .array((0..<Int(rng.next() % 3)).map { _ in .string(["good", "loud", "old"][Int(rng.next() % 3)]) })
            records.append(.object(r))
        }
        try f.insert(records)
        if caughtUp { try f.catchUpIndexes() }
        return f
    }

    /// Updates, deletes and inserts after a catch-up, left in the backlog: a third of the
    /// records change breed, age, weight or tags, some lose fields, some go, new ones come.
    static func changedAfterCatchUp(_ f: StorageFixture) throws {
        var rng = SplitMix(seed: 23)
        var updates: [JSON] = []
        for i in stride(from: 0, to: 300, by: 3) {
            var r: [String: JSON] = ["id": .number(Double(i))]
            r["age"] = .number(Double(rng.next() % 20))
            r["breed"] = i % 2 == 0 ? .string(breeds[Int(rng.next() % UInt64(breeds.count))]) : .null
            r["tags"] = .array((0..<Int(rng.next() % 3)).map { _ in .string(["good", "loud", "old", "new"][Int(rng.next() % 4)]) })
            updates.append(.object(r))
        }
        try f.insert(updates, mode: .update)
        try f.write { txn, ctx in _ = try f.env.delete(txn, table: "dog", ids: (0..<30).map { .number(Double($0 * 7)) }, context: ctx) }
        try f.insert((300..<340).map { i in ["id": .number(Double(i)), "name": .string("pup-\(i)"), "age": .number(Double(i % 20)), "breed": "pug"] })
    }

    static func ids(_ records: [JSON]) -> Set<Double> { Set(records.compactMap { $0["id"]?.doubleValue }) }

    static let conditions: [(String, SearchCondition)] = [
        ("equals string", .leaf(attribute: "breed", comparator: .equals, value: "lab")),
        ("equals number", .leaf(attribute: "age", comparator: .equals, value: 7)),
        ("equals fraction", .leaf(attribute: "age", comparator: .equals, value: 7.5)),
        ("equals numeric string", .leaf(attribute: "age", comparator: .equals, value: "7")),
        ("equals array element", .leaf(attribute: "tags", comparator: .equals, value: "good")),
        ("equals primary key", .leaf(attribute: "id", comparator: .equals, value: 42)),
        ("equals primary key as string", .leaf(attribute: "id", comparator: .equals, value: "42")),
        ("equals nothing", .leaf(attribute: "breed", comparator: .equals, value: "cat")),
        ("starts_with", .leaf(attribute: "breed", comparator: .starts_with, value: "lab")),
        ("starts_with name", .leaf(attribute: "name", comparator: .starts_with, value: "dog-1")),
        ("greater_than", .leaf(attribute: "age", comparator: .greater_than, value: 15)),
        ("greater_than_equal", .leaf(attribute: "age", comparator: .greater_than_equal, value: 15)),
        ("less_than", .leaf(attribute: "weight", comparator: .less_than, value: 0)),
        ("less_than_equal", .leaf(attribute: "age", comparator: .less_than_equal, value: 3)),
        ("greater_than string", .leaf(attribute: "breed", comparator: .greater_than, value: "collie")),
        ("less_than string", .leaf(attribute: "breed", comparator: .less_than, value: "corgi")),
        ("between", .leaf(attribute: "age", comparator: .between, value: [5, 9])),
        ("between negatives", .leaf(attribute: "weight", comparator: .between, value: [-5.5, 2])),
        ("between strings", .leaf(attribute: "name", comparator: .between, value: ["dog-100", "dog-150"])),
        ("or group", .group(.or, [
            .leaf(attribute: "breed", comparator: .equals, value: "pug"),
            .leaf(attribute: "age", comparator: .greater_than, value: 17),
        ])),
        ("and group", .group(.and, [
            .leaf(attribute: "breed", comparator: .starts_with, value: "c"),
            .leaf(attribute: "age", comparator: .less_than, value: 10),
        ])),
        ("nested", .group(.or, [
            .group(.and, [.leaf(attribute: "breed", comparator: .equals, value: "beagle"), .leaf(attribute: "age", comparator: .between, value: [2, 12])]),
            .leaf(attribute: "id", comparator: .equals, value: 3),
        ])),
        ("or with a scan-only child", .group(.or, [
            .leaf(attribute: "breed", comparator: .ends_with, value: "er"),
            .leaf(attribute: "age", comparator: .equals, value: 1),
        ])),
        ("not_equal", .leaf(attribute: "breed", comparator: .not_equal, value: "lab")),
        ("contains", .leaf(attribute: "tags", comparator: .contains, value: "loud")),
        ("unindexed attribute", .leaf(attribute: "unknown", comparator: .equals, value: nil)),
    ]

    @Test(arguments: ["caught up", "all in the backlog", "changed after a catch-up"])
    func indexedSearchEqualsFullScan(state: String) throws {
        let f = try Self.populated(caughtUp: state != "all in the backlog")
        if state == "changed after a catch-up" { try Self.changedAfterCatchUp(f) }
        let all = try f.allRecords()
        #expect(all.count == (state == "changed after a catch-up" ? 310 : 300))
        for (name, condition) in Self.conditions {
            let expected = Set(all.filter { condition.matches($0) }.compactMap { $0["id"]?.doubleValue })
            let found = try f.read { try f.env.search($0, table: "dog", condition: condition, options: .init()) }
            #expect(found.count == expected.count, "\(name): duplicates or misses")
            #expect(Self.ids(found) == expected, "\(name)")
        }
    }

    @Test func indexIsUsedForIndexableConditions() throws {
        let f = try Self.populated()
        try f.read { txn throws in
            let schema = try f.env.requireTable(txn, "dog")
            for (name, condition) in Self.conditions.prefix(22) {
                let keys = try f.env.candidates(txn, schema, condition)
                #expect(keys != nil, "\(name) should use an index")
                // Never more candidates than records (plus duplicates from arrays / or-groups).
                #expect((keys?.count ?? 0) <= 600, "\(name)")
            }
            #expect(try f.env.candidates(txn, schema, .leaf(attribute: "breed", comparator: .ends_with, value: "er")) == nil)
            #expect(try f.env.candidates(txn, schema, .leaf(attribute: "unknown", comparator: .equals, value: 1)) == nil)
            let narrow = try f.env.candidates(txn, schema, .leaf(attribute: "id", comparator: .equals, value: 1))
            #expect(narrow?.count == 2) // 1 and "1"
        }
    }

    /// A range bounded on both sides reads only its part of the index: `between`, and a
    /// lower and an upper bound on one attribute in an AND (REST's `a=ge=x&a=le=y`).
    @Test func boundedRangesReadOnlyTheirPartOfTheIndex() throws {
        for caughtUp in [true, false] {
            let f = try Self.populated(caughtUp: caughtUp)
            let all = try f.allRecords()
            try f.read { txn throws in
                let schema = try f.env.requireTable(txn, "dog")
                let inRange = all.filter { ($0["weight"]?.doubleValue).map { $0 >= 10 && $0 <= 20 } ?? false }.count
                for condition: SearchCondition in [
                    .leaf(attribute: "weight", comparator: .between, value: [10, 20]),
                    .group(.and, [.leaf(attribute: "weight", comparator: .greater_than_equal, value: 10),
                                  .leaf(attribute: "weight", comparator: .less_than_equal, value: 20)]),
                ] {
                    // Before any catch-up there is no index yet: a scan.
                    if caughtUp {
                        let keys = try #require(try f.env.candidates(txn, schema, condition))
                        #expect(keys.count == inRange, "\(condition): \(keys.count) candidates for \(inRange) matches of \(all.count)")
                    }
                    let found = try f.env.search(txn, table: "dog", condition: condition, options: .init())
                    #expect(found.count == inRange)
                }
            }
        }
    }

    /// Records in the backlog come in index order: a search answers the same records in the
    /// same order before and after the catch-up.
    @Test func backlogKeepsIndexOrder() throws {
        let f = try Self.populated()
        try Self.changedAfterCatchUp(f)
        let before = try Self.conditions.map { _, c in try f.read { try f.env.search($0, table: "dog", condition: c, options: .init()) } }
        try f.read { txn throws in
            let schema = try f.env.requireTable(txn, "dog")
            #expect(try f.env.candidates(txn, schema, Self.conditions[0].1) != nil, "an index answers while records wait")
        }
        #expect(try f.catchUpIndexes() > 0)
        #expect(try f.read { try f.env.indexBacklogCount($0) } == 0)
        let after = try Self.conditions.map { _, c in try f.read { try f.env.search($0, table: "dog", condition: c, options: .init()) } }
        for (i, (name, _)) in Self.conditions.enumerated() {
            #expect(before[i] == after[i], "\(name)")
        }
    }

    /// A search reads only the searched attribute of each waiting record, from its bytes
    /// (`BacklogView.indexKeys`): the keys `IndexWriter.keys` gives for the parsed value,
    /// names written with escapes and missing attributes included.
    @Test func backlogKeysFromBytesAreTheKeysOfTheParsedAttribute() throws {
        var rng = SplitMix(seed: 5)
        let names = ["a", "b", "é", "c"]
        for round in 0..<300 {
            var record: [String: JSON] = [:]
            for name in names where rng.next() % 3 != 0 { record[name] = IndexKeysTests.values.randomElement(using: &rng)! }
            // "b" written as "\u0062": the same member name.
            let text = String(decoding: JSON.object(record).serialized(), as: UTF8.self).replacingOccurrences(of: "\"b\":", with: "\"\\u0062\":")
            for name in names + ["missing"] {
                #expect(BacklogView.indexKeys(of: Array(name.utf8), in: Array(text.utf8)) == IndexWriter.keys(record[name]), "round \(round), \(name): \(text)")
            }
        }
    }

    /// The waiting records' keys in one buffer: a union of two sorted runs and membership by
    /// binary search answer as a set of the same keys does.
    @Test func waitingKeysAnswerAsASet() {
        var rng = SplitMix(seed: 9)
        for _ in 0..<50 {
            func run() -> [[UInt8]] {
                Set((0..<Int(rng.next() % 40)).map { _ in (0..<Int(rng.next() % 4)).map { _ in UInt8(rng.next() % 3) } })
                    .sorted { $0.lexicographicallyPrecedes($1) }
            }
            let (a, b) = (run(), run())
            var (wa, wb) = (WaitingKeys(), WaitingKeys())
            for k in a { wa.append(k) }
            for k in b { wb.append(k) }
            let union = WaitingKeys.union(wa, wb)
            let model = Set(a + b)
            #expect((0..<union.count).map { Array(union[$0]) } == model.sorted { $0.lexicographicallyPrecedes($1) })
            for probe in model.union((0..<20).map { _ in (0..<Int(rng.next() % 4)).map { _ in UInt8(rng.next() % 4) } }) {
                #expect(union.contains(probe) == model.contains(probe), "\(probe)")
            }
        }
    }

    /// Index keys keep 64 bytes: texts that share a longer prefix share a key, and every
    /// comparator still answers exactly (candidates are checked by value).
    @Test func longTextsShareIndexKeysAndSearchesStayExact() throws {
        let f = try StorageFixture()
        try f.createTable()
        let stem = String(repeating: "k", count: 70)
        let texts = ["a", "b", "c", "ca"].map { stem + $0 } + ["short", stem]
        try f.insert(texts.enumerated().map { i, t in ["id": .number(Double(i)), "text": .string(t)] })
        try f.catchUpIndexes()
        let conditions: [SearchCondition] = [
            .leaf(attribute: "text", comparator: .equals, value: .string(stem + "b")),
            .leaf(attribute: "text", comparator: .starts_with, value: .string(stem + "c")),
            .leaf(attribute: "text", comparator: .starts_with, value: "kk"),
            .leaf(attribute: "text", comparator: .greater_than, value: .string(stem + "b")),
            .leaf(attribute: "text", comparator: .less_than_equal, value: .string(stem + "b")),
            .leaf(attribute: "text", comparator: .between, value: [.string(stem + "a"), .string(stem + "c")]),
        ]
        let all = try f.allRecords()
        for condition in conditions {
            let expected = Set(all.filter { condition.matches($0) }.compactMap { $0["id"]?.doubleValue })
            #expect(try f.read { try f.env.candidates($0, f.env.requireTable($0, "dog"), condition) } != nil, "\(condition)")
            let found = try f.read { try f.env.search($0, table: "dog", condition: condition, options: .init()) }
            #expect(Self.ids(found) == expected && found.count == expected.count, "\(condition)")
        }
    }

    @Test func sortOffsetLimit() throws {
        let f = try Self.populated()
        let everything = SearchCondition.group(.and, [])
        var options = DatabaseEnvironment.SearchOptions()
        options.sortAttribute = "name"
        let sorted = try f.read { try f.env.search($0, table: "dog", condition: everything, options: options) }
        let names = sorted.compactMap { $0["name"]?.stringValue }
        #expect(names.count == 300)
        #expect(names == names.sorted())

        options.sortDescending = true
        options.offset = 10
        options.limit = 5
        let page = try f.read { try f.env.search($0, table: "dog", condition: everything, options: options) }
        #expect(page.compactMap { $0["name"]?.stringValue } == Array(Array(names.reversed())[10..<15]))

        // Records without the attribute sort first.
        var byBreed = DatabaseEnvironment.SearchOptions()
        byBreed.sortAttribute = "breed"
        let breeds = try f.read { try f.env.search($0, table: "dog", condition: everything, options: byBreed) }.map { $0["breed"] ?? nil }
        let firstWithBreed = try #require(breeds.firstIndex { !$0.isNull })
        #expect(breeds[..<firstWithBreed].allSatisfy { $0.isNull })
        let present = breeds[firstWithBreed...].compactMap(\.stringValue)
        #expect(present.count == 300 - firstWithBreed)
        #expect(present == present.sorted())

        // Limit without sort stops early but returns matching records.
        var limited = DatabaseEnvironment.SearchOptions()
        limited.limit = 7
        limited.offset = 3
        let cond = SearchCondition.leaf(attribute: "age", comparator: .greater_than, value: 5)
        let few = try f.read { try f.env.search($0, table: "dog", condition: cond, options: limited) }
        #expect(few.count == 7)
        #expect(few.allSatisfy { cond.matches($0.objectValue!) })
        // Offset past the end.
        limited.offset = 1000
        #expect(try f.read { try f.env.search($0, table: "dog", condition: cond, options: limited) }.isEmpty)
    }

    @Test func projection() throws {
        let f = try Self.populated()
        var options = DatabaseEnvironment.SearchOptions()
        options.attributes = ["id", "name", "nonexistent"]
        let hits = try f.read { try f.env.search($0, table: "dog", condition: .leaf(attribute: "id", comparator: .equals, value: 7), options: options) }
        // Harper's get_attributes answers an attribute the record lacks as null (ResourceBridge.ts getSelect forceNulls).
        #expect(hits == [["id": 7, "name": "dog-007", "nonexistent": nil]])
        options.attributes = ["*"]
        let full = try f.read { try f.env.search($0, table: "dog", condition: .leaf(attribute: "id", comparator: .equals, value: 7), options: options) }
        #expect(full.first?["__createdtime__"] != nil)
        let byID = try f.read { try f.env.searchByID($0, table: "dog", ids: [7, 8, 999], attributes: ["name"]) }
        #expect(byID == [["name": "dog-007"], ["name": "dog-008"]])
    }

    @Test func searchSeesUpdatesThroughIndexes() throws {
        let f = try Self.populated()
        try f.insert([["id": 1, "breed": "dalmatian", "tags": ["spotty"]]], mode: .update)
        let found = try f.read { try f.env.search($0, table: "dog", condition: .leaf(attribute: "breed", comparator: .equals, value: "dalmatian"), options: .init()) }
        #expect(Self.ids(found) == [1])
        let byTag = try f.read { try f.env.search($0, table: "dog", condition: .leaf(attribute: "tags", comparator: .contains, value: "spotty"), options: .init()) }
        #expect(Self.ids(byTag) == [1])
        // The index holds the new array element.
        try f.read { txn throws in
            let schema = try f.env.requireTable(txn, "dog")
            let spotty = try f.env.candidates(txn, schema, .leaf(attribute: "tags", comparator: .equals, value: "spotty"))
            #expect(spotty == [KeyCodec.encode(1)!])
        }
        // The old value is gone from the index.
        let old = try f.read { try f.env.search($0, table: "dog", condition: .leaf(attribute: "id", comparator: .equals, value: 1), options: .init()) }
        #expect(old.first?["breed"] == "dalmatian")
    }

    @Test func searchOfMissingTable() throws {
        let f = try StorageFixture()
        #expect(throws: SkeinError.self) {
            try f.read { try f.env.search($0, table: "ghost", condition: .group(.and, []), options: .init()) }
        }
    }

    // MARK: Index vs scan with mixed kinds (the contract: an index never changes a result)

    /// A small table whose values mix kinds the way loose comparisons see them.
    static func mixed() throws -> (StorageFixture, [[String: JSON]]) {
        let f = try StorageFixture()
        try f.createTable()
        try f.insert([
            ["id": 1, "v": 123], ["id": 2, "v": "123"], ["id": 3, "v": "15"], ["id": 4, "v": 15],
            ["id": 5, "v": "1.0"], ["id": 6, "v": 1], ["id": 7], ["id": 8, "v": nil], ["id": 9, "v": ["a", "b"]],
            ["id": 10, "v": "12abc"],
        ])
        return (f, try f.allRecords())
    }

    static func compare(_ f: StorageFixture, _ all: [[String: JSON]], _ condition: SearchCondition, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let expected = Set(all.filter { condition.matches($0) }.compactMap { $0["id"]?.doubleValue })
        let found = try f.read { try f.env.search($0, table: "dog", condition: condition, options: .init()) }
        #expect(ids(found) == expected, "\(condition)", sourceLocation: sourceLocation)
    }

    @Test func mixedKindsThatAgree() throws {
        let (f, all) = try Self.mixed()
        try Self.compare(f, all, .leaf(attribute: "v", comparator: .equals, value: 123))
        try Self.compare(f, all, .leaf(attribute: "v", comparator: .equals, value: "123"))
        try Self.compare(f, all, .leaf(attribute: "v", comparator: .equals, value: "a"))
        try Self.compare(f, all, .leaf(attribute: "v", comparator: .equals, value: 15))
        try Self.compare(f, all, .leaf(attribute: "v", comparator: .contains, value: "2"))
        try Self.compare(f, all, .leaf(attribute: "v", comparator: .starts_with, value: "12a"))
    }

    @Test
    func startsWithOnNumbersAgreesWithScan() throws {
        let (f, all) = try Self.mixed()
        try Self.compare(f, all, .leaf(attribute: "v", comparator: .starts_with, value: "12")) // misses id 1 (123)
    }

    @Test
    func rangeOnNumericStringsAgreesWithScan() throws {
        let (f, all) = try Self.mixed()
        try Self.compare(f, all, .leaf(attribute: "v", comparator: .greater_than, value: 14)) // misses "15", "123"
        try Self.compare(f, all, .leaf(attribute: "v", comparator: .between, value: [10, 20])) // misses "15"
    }

    @Test
    func equalityAgreesWithScan() throws {
        let (f, all) = try Self.mixed()
        try Self.compare(f, all, .leaf(attribute: "v", comparator: .equals, value: 1)) // misses "1.0"
        try Self.compare(f, all, .leaf(attribute: "v", comparator: .equals, value: nil)) // misses id 7 (no field)
        try Self.compare(f, all, .leaf(attribute: "v", comparator: .equals, value: ["a", "b"])) // finds nothing
    }
}
