import Testing
@testable import SkeinCore

@Suite("SQL statements the store answers itself")
struct SQLStoreSearchTests {
    let info = SQLTableInfo(primaryKey: "id", indexed: ["age", "name"], attributes: ["id", "age", "name", "note"])

    func body(_ sql: String, first: SearchCondition? = nil) throws -> JSON? {
        guard case .select(let s) = try SQLParser.parse(sql) else { return nil }
        return SQLStoreSearch.body(s, info, first: first)
    }

    @Test func aSimpleSelectBecomesOneSearch() throws {
        let b = try #require(try body("SELECT id, name FROM dev.dog d WHERE d.age >= 3 AND NOT (name = 'Rex' OR note IS NULL) ORDER BY age DESC, id LIMIT 5 OFFSET 2",
                                      first: .leaf(attribute: "age", comparator: .greater_than_equal, value: 3)))
        #expect(b == [
            "operation": "search_by_conditions", "database": "dev", "table": "dog", "operator": "and", "get_attributes": ["id", "name"],
            "conditions": [
                ["attribute": "age", "comparator": "greater_than_equal", "value": 3],
                ["operator": "and", "conditions": [
                    ["attribute": "age", "comparator": "greater_than_equal", "value": 3],
                    ["operator": "and", "conditions": [["attribute": "name", "comparator": "not_equal", "value": "Rex"],
                                                       ["attribute": "note", "comparator": "not_equal", "value": nil]]],
                ]],
            ],
            "sort": ["attribute": "age", "descending": true, "next": ["attribute": "id", "descending": false]],
            "limit": 5, "offset": 2,
        ])
    }

    @Test func negationsTheStoreCanSay() throws {
        func conditions(_ whereClause: String) throws -> JSON? { try body("SELECT * FROM dev.dog WHERE \(whereClause)")?["conditions"] }
        #expect(try conditions("NOT age IN (1, 2)") == [["operator": "and", "conditions": [["attribute": "age", "comparator": "not_equal", "value": 1],
                                                                                            ["attribute": "age", "comparator": "not_equal", "value": 2]]]])
        #expect(try conditions("NOT NOT age BETWEEN 1 AND 2") == [["attribute": "age", "comparator": "between", "value": [1, 2]]])
        #expect(try conditions("3 < age") == [["attribute": "age", "comparator": "greater_than", "value": 3]])
        #expect(try conditions("age IS NOT NULL") == [["attribute": "age", "comparator": "not_equal", "value": nil]])
    }

    @Test(arguments: [
        "SELECT name AS n FROM dev.dog",                          // an alias
        "SELECT *, id FROM dev.dog",                              // * and more
        "SELECT COUNT(*) FROM dev.dog",                           // an aggregate
        "SELECT age + 1 FROM dev.dog",                            // an expression
        "SELECT missing FROM dev.dog",                            // an attribute the table never had
        "SELECT * FROM dev.dog WHERE name LIKE 'R%'",             // LIKE ignores case
        "SELECT * FROM dev.dog WHERE NOT age < 3",                // no comparator says NOT <
        "SELECT * FROM dev.dog WHERE age NOT BETWEEN 1 AND 3",
        "SELECT * FROM dev.dog WHERE age = NULL",
        "SELECT * FROM dev.dog WHERE age + 1 = 3",
        "SELECT * FROM dev.dog ORDER BY age + 1",
        "SELECT * FROM dev.dog d JOIN dev.owner o ON d.o = o.id",
        "SELECT name FROM dev.dog GROUP BY name",
        "SELECT 1",
    ])
    func theRestIsTheGateways(_ sql: String) throws {
        #expect(try body(sql) == nil)
    }
}
