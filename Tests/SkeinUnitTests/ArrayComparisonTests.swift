import Testing
@testable import SkeinCore

/// An array-valued attribute matches a comparison by one of its elements, as in Harper (its
/// arrays are indexed by element), in `search_by_conditions` and in SQL alike: a statement
/// the store answers (`SQLStoreSearch`) and one the gateway evaluates give the same rows.
@Suite("Comparisons on array-valued attributes")
struct ArrayComparisonTests {
    static let rows: [[String: JSON]] = [
        ["id": 1, "tags": ["good", "dog", 3]],
        ["id": 2, "tags": ["cat", 9]],
        ["id": 3, "name": "no tags"],
    ]

    static func ids(_ condition: SearchCondition) -> [Int] {
        rows.filter { condition.matches($0) }.compactMap { $0["id"]?.intValue }
    }

    @Test func everyComparatorMatchesByAnElement() {
        func ids(_ comparator: SearchCondition.Comparator, _ value: JSON) -> [Int] {
            Self.ids(.leaf(attribute: "tags", comparator: comparator, value: value))
        }
        #expect(ids(.equals, "dog") == [1])
        #expect(ids(.equals, "3") == [1], "loosely, as for scalars")
        #expect(ids(.equals, ["cat", 9]) == [2], "or whole")
        #expect(ids(.not_equal, "dog") == [2, 3], "equals negated: no element equal")
        #expect(ids(.contains, "at") == [2])
        #expect(ids(.starts_with, "go") == [1])
        #expect(ids(.ends_with, "og") == [1])
        #expect(ids(.greater_than, 5) == [2])
        #expect(ids(.less_than_equal, 3) == [1])
        #expect(ids(.between, [2, 4]) == [1])
        #expect(ids(.between, ["a", "d"]) == [2])
        #expect(ids(.equals, nil) == [3], "an array is not null")
        #expect(ids(.not_equal, nil) == [1, 2])
    }

    @Test(arguments: [
        ("tags = 'dog'", [1]), ("'dog' = tags", [1]), ("tags != 'dog'", [2, 3]), ("NOT (tags = 'dog')", [2, 3]),
        ("tags IN ('cat', 'dog')", [1, 2]), ("tags NOT IN ('dog')", [2, 3]), ("tags > 5", [2]), ("5 < tags", [2]),
        ("NOT tags <= 5", [2, 3]), ("tags BETWEEN 2 AND 4", [1]), ("tags IS NULL", [3]), ("tags IS NOT NULL", [1, 2]),
    ])
    func sqlAgreesWhereverItRuns(whereClause: String, expected: [Int]) throws {
        guard case .select(let select) = try SQLParser.parse("SELECT * FROM dev.dog WHERE \(whereClause)") else {
            Issue.record("not a SELECT")
            return
        }
        // The gateway: WHERE evaluated row by row.
        let table = SQLTableName(database: "dev", table: "dog")
        let evaluator = SQLEvaluator()
        let gateway = try Self.rows.filter { try SQLEvaluator.truthy(evaluator.evaluate(select.filter!, SQLRow(table, $0))) }
        #expect(gateway.compactMap { $0["id"]?.intValue } == expected, "gateway")
        // The store: the search_by_conditions the statement becomes, when it becomes one.
        let info = SQLTableInfo(primaryKey: "id", indexed: ["tags"], attributes: ["id", "tags", "name"])
        if let body = SQLStoreSearch.body(select, info) {
            let condition = try SearchCondition.parse(["operator": "and", "conditions": body["conditions"] ?? []])
            #expect(Self.ids(condition) == expected, "store: \(body)")
        }
    }
}
