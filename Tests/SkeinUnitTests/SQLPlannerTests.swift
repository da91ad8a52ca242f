import Testing
@testable import SkeinCore

@Suite("SQL planner")
struct SQLPlannerTests {
    let dog = SQLTableName(database: "dev", table: "dog", alias: "d")
    let info = SQLTableInfo(primaryKey: "id", indexed: ["id", "age", "name", "breed"])

    func plan(_ whereClause: String, soleTable: Bool = true) throws -> SQLAccessPath {
        guard case .select(let s) = try SQLParser.parse("SELECT * FROM dev.dog d WHERE \(whereClause)") else { throw SkeinError.internal("?") }
        return SQLPlanner.plan(s.filter, for: dog, soleTable: soleTable, info: info)
    }

    @Test func readsTableInfoFromDescribeTable() {
        let described: JSON = ["primary_key": "id", "attributes": [["attribute": "id", "is_primary_key": true, "indexed": true],
                                                                   ["attribute": "age", "indexed": true], ["attribute": "note", "indexed": false]]]
        #expect(SQLTableInfo(describe: described) == SQLTableInfo(primaryKey: "id", indexed: ["id", "age"], attributes: ["note"]))
        #expect(SQLTableInfo(describe: described).attributes == ["id", "age", "note"])
    }

    @Test func equalityOnAnIndexedAttributeUsesItsIndex() throws {
        #expect(try plan("age = 3") == .index(attribute: "age", condition: .leaf(attribute: "age", comparator: .equals, value: 3)))
        #expect(try plan("3 = d.age") == .index(attribute: "age", condition: .leaf(attribute: "age", comparator: .equals, value: 3)))
        #expect(try plan("age = 3").conditions == [["attribute": "age", "comparator": "equals", "value": 3]])
    }

    @Test func rangesFlipWhenTheValueComesFirst() throws {
        #expect(try plan("5 < age") == .index(attribute: "age", condition: .leaf(attribute: "age", comparator: .greater_than, value: 5)))
        #expect(try plan("age <= 'x'") == .index(attribute: "age", condition: .leaf(attribute: "age", comparator: .less_than_equal, value: "x")))
    }

    @Test func theMostSelectiveTermWins() throws {
        // Primary-key equality beats an index equality beats IN beats BETWEEN beats LIKE beats a range.
        #expect(try plan("age > 1 AND name LIKE 'R%' AND age BETWEEN 1 AND 5 AND breed IN ('a', 'b') AND name = 'Rex' AND id = 7")
                == .index(attribute: "id", condition: .leaf(attribute: "id", comparator: .equals, value: 7)))
        #expect(try plan("age > 1 AND name LIKE 'R%' AND age BETWEEN 1 AND 5 AND breed IN ('a', 'b') AND name = 'Rex'").summary == "index(name)")
        #expect(try plan("age > 1 AND name LIKE 'R%' AND age BETWEEN 1 AND 5 AND breed IN ('a', 'b')")
                == .index(attribute: "breed", condition: .group(.or, [.leaf(attribute: "breed", comparator: .equals, value: "a"),
                                                                       .leaf(attribute: "breed", comparator: .equals, value: "b")])))
        #expect(try plan("age > 1 AND name LIKE 'R%' AND age BETWEEN 1 AND 5")
                == .index(attribute: "age", condition: .leaf(attribute: "age", comparator: .between, value: [1, 5])))
        #expect(try plan("age > 1 AND name LIKE 'R%'").summary == "index(name)")
    }

    @Test func likePrefixCoversEveryCaseOfItsFirstLetters() throws {
        #expect(SQLPlanner.caseVariants("ab1cd") == ["ab1c", "ab1C", "aB1c", "aB1C", "Ab1c", "Ab1C", "AB1c", "AB1C"])
        #expect(SQLPlanner.caseVariants("12-") == ["12-"])
        #expect(SQLPlanner.caseVariants("") == [])
        #expect(try plan("name LIKE '%x'") == .scan)
        #expect(try plan("name LIKE 'r_x%'") == .index(attribute: "name", condition: .group(.or, [
            .leaf(attribute: "name", comparator: .starts_with, value: "r"), .leaf(attribute: "name", comparator: .starts_with, value: "R")])))
    }

    @Test(arguments: [
        "note = 1",                 // not indexed
        "id > 3",                   // the primary key answers equality only
        "age = 1 OR name = 'x'",    // OR at the top: no single term narrows
        "NOT age = 1", "age != 1", "age NOT IN (1, 2)", "age NOT BETWEEN 1 AND 2", "name NOT LIKE 'a%'",
        "age = NULL", "age IS NULL", "age = other", "age + 1 = 3", "age IN (1, other)", "o.age = 1",
    ])
    func termsNoIndexCanAnswerScan(_ whereClause: String) throws {
        #expect(try plan(whereClause) == .scan)
    }

    @Test func unqualifiedColumnsArePlannedOnlyForASingleTable() throws {
        #expect(try plan("age = 3", soleTable: false) == .scan)
        #expect(try plan("d.age = 3", soleTable: false).summary == "index(age)")
        #expect(try plan("dog.age = 3", soleTable: false).summary == "index(age)")
    }

    @Test func termsOfOneTableFilterItBeforeAJoin() throws {
        guard case .select(let s) = try SQLParser.parse("SELECT * FROM dev.dog d JOIN dev.owner o ON d.oid = o.id WHERE o.age > 3 AND d.x = o.y AND o.n = 'a' AND z = 1") else { return }
        let owner = s.joins[0].table
        #expect(SQLPlanner.terms(s.filter, onlyOf: owner).map(\.description) == ["o.age > 3", "o.n = 'a'"])
        #expect(SQLPlanner.conjunction(SQLPlanner.terms(s.filter, onlyOf: owner))?.description == "o.age > 3 AND o.n = 'a'")
        #expect(try SQLJoinKey(s.joins[0]) == SQLJoinKey(attribute: "id", outer: .column(table: "d", name: "oid")))
    }

    @Test func aJoinNeedsAnEqualityWithTheJoinedTable() throws {
        guard case .select(let s) = try SQLParser.parse("SELECT * FROM dev.dog d JOIN dev.owner o ON d.oid > o.id") else { return }
        #expect(throws: SkeinError.self) { try SQLJoinKey(s.joins[0]) }
        #expect(SQLJoinKey.hashKey(1) == SQLJoinKey.hashKey("1"))
        #expect(SQLJoinKey.hashKey(.null) == nil)
    }
}
