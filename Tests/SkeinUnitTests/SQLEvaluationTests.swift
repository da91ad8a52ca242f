import Testing
@testable import SkeinCore

@Suite("SQL evaluation")
struct SQLEvaluationTests {
    static let dogs: [[String: JSON]] = [
        ["id": 1, "name": "Rex", "breed": "Labrador", "age": 3, "owner": 1],
        ["id": 2, "name": "Ace", "breed": "Poodle", "age": 7, "owner": 2],
        ["id": 3, "name": "Bella", "breed": "Labrador Mix", "age": 5, "owner": 1],
        ["id": 4, "name": "Max", "breed": "Beagle", "age": 10],
        ["id": 5, "name": "daisy", "breed": "Poodle", "age": 1, "owner": "2"],
    ]
    static let table = SQLTableName(database: "dev", table: "dog")

    /// Runs a SELECT over `dogs` as the gateway would, minus the store.
    func run(_ sql: String, maxRows: Int = 1000) throws -> [JSON] {
        guard case .select(let s) = try SQLParser.parse(sql) else { throw SkeinError.internal("not a SELECT") }
        try SQLScope.validate(s)
        var runner = try SQLSelectRunner(s, maxRows: maxRows)
        if s.from == nil { try runner.consume(SQLRow()) }
        for dog in Self.dogs where s.from != nil && !runner.isSatisfied { try runner.consume(SQLRow(s.from!, dog)) }
        return try runner.result()
    }

    func ids(_ sql: String, maxRows: Int = 1000) throws -> [Int] { try run(sql, maxRows: maxRows).compactMap { $0["id"]?.intValue } }

    @Test(arguments: [
        ("age = 3", [1]), ("age != 3", [2, 3, 4, 5]), ("age <> 3", [2, 3, 4, 5]), ("age < 5", [1, 5]), ("age <= 5", [1, 3, 5]),
        ("age > 5", [2, 4]), ("age >= 5", [2, 3, 4]), ("age BETWEEN 3 AND 7", [1, 2, 3]), ("age NOT BETWEEN 3 AND 7", [4, 5]),
        ("breed IN ('Poodle', 'Beagle')", [2, 4, 5]), ("breed NOT IN ('Poodle')", [1, 3, 4]),
        ("breed LIKE 'lab%'", [1, 3]), ("breed LIKE '%o_le'", [2, 5]), ("name LIKE '_a%'", [4, 5]), ("breed NOT LIKE '%o%'", [4]),
        ("owner IS NULL", [4]), ("owner IS NOT NULL", [1, 2, 3, 5]), ("owner = 2", [2, 5]),
        ("NOT (age > 3 AND breed = 'Poodle') AND (id = 1 OR id = 4 OR id = 2)", [1, 4]),
        ("owner != 1", [2, 4, 5]), ("age + 1 = 4", [1]), ("age * 2 > 10 OR name = 'Rex'", [1, 2, 4]), ("age > 'a'", []),
    ])
    func whereClauses(whereClause: String, expected: [Int]) throws {
        #expect(try ids("SELECT * FROM dev.dog WHERE \(whereClause)") == expected)
    }

    @Test func columnsAliasesAndExpressionsNameTheResult() throws {
        let rows = try run("SELECT id, name AS n, age * 2 FROM dev.dog WHERE id = 1")
        #expect(rows == [["id": 1, "n": "Rex", "age * 2": 6]])
        #expect(try run("SELECT 2 + 2") == [["2 + 2": 4]])
        #expect(try run("SELECT id, missing FROM dev.dog WHERE id = 4") == [["id": 4, "missing": nil]])
    }

    @Test func scalarFunctions() throws {
        #expect(try run("SELECT UPPER(name) AS u, LOWER(name) AS l, LENGTH(breed) AS n, ABS(0 - age) AS a, ROUND(age / 3, 2) AS r, FLOOR(age / 2) AS f, CEIL(age / 2) AS c FROM dev.dog WHERE id = 2")
                == [["u": "ACE", "l": "ace", "n": 6, "a": 7, "r": 2.33, "f": 3, "c": 4]])
        #expect(try run("SELECT id, COALESCE(owner, 'none') AS o, ROUND(age * 2.25) AS r, ROUND(1234, -2) AS h FROM dev.dog WHERE id = 4")
                == [["id": 4, "o": "none", "r": 23, "h": 1200]])
        #expect(throws: SkeinError.badRequest("SQL: ROUND takes 1 to 2 arguments, not 3 (at position 8)")) { try run("SELECT ROUND(1, 2, 3)") }
        #expect(throws: SkeinError.badRequest("SQL: UPPER takes 1 argument, not 2 (at position 8)")) { try run("SELECT UPPER('a', 'b')") }
    }

    @Test func orderByManyKeysThenOffsetAndLimit() throws {
        #expect(try ids("SELECT * FROM dev.dog ORDER BY breed DESC, age") == [5, 2, 3, 1, 4])
        #expect(try ids("SELECT * FROM dev.dog ORDER BY age DESC LIMIT 2 OFFSET 1") == [2, 3])
        #expect(try ids("SELECT id, age AS years FROM dev.dog ORDER BY years LIMIT 2") == [5, 1])
        // Missing values sort first, as nulls.
        #expect(try ids("SELECT * FROM dev.dog ORDER BY owner, id") == [4, 1, 3, 2, 5])
    }

    @Test func withoutOrderByTheRunnerStopsOnceItHasEnough() throws {
        guard case .select(let s) = try SQLParser.parse("SELECT id FROM dev.dog LIMIT 2 OFFSET 1") else { return }
        var runner = try SQLSelectRunner(s, maxRows: 10)
        for dog in Self.dogs.prefix(3) { try runner.consume(SQLRow(Self.table, dog)) }
        #expect(runner.isSatisfied)
        #expect(try runner.result() == [["id": 2], ["id": 3]])
    }

    @Test func aggregatesWithAndWithoutGroups() throws {
        #expect(try run("SELECT COUNT(*), COUNT(owner), SUM(age), AVG(age) AS mean, MIN(name), MAX(age) FROM dev.dog")
                == [["COUNT(*)": 5, "COUNT(owner)": 4, "SUM(age)": 26, "mean": 5.2, "MIN(name)": "Ace", "MAX(age)": 10]])
        #expect(try run("SELECT breed, COUNT(*) AS n, SUM(age) FROM dev.dog GROUP BY breed ORDER BY n DESC, breed")
                == [["breed": "Poodle", "n": 2, "SUM(age)": 8], ["breed": "Beagle", "n": 1, "SUM(age)": 10],
                    ["breed": "Labrador", "n": 1, "SUM(age)": 3], ["breed": "Labrador Mix", "n": 1, "SUM(age)": 5]])
        #expect(try run("SELECT COUNT(*) AS n FROM dev.dog WHERE age > 100") == [["n": 0]])
        #expect(try run("SELECT breed, COUNT(*) FROM dev.dog WHERE age > 100 GROUP BY breed") == [])
        #expect(try run("SELECT COUNT(DISTINCT breed) AS kinds FROM dev.dog") == [["kinds": 4]])
    }

    @Test func boundsAreAClearError() throws {
        #expect(throws: SkeinError(status: 413, "SQL: the statement needs more than 3 rows to sort in memory; narrow the WHERE clause or add a LIMIT")) {
            try run("SELECT * FROM dev.dog ORDER BY id", maxRows: 3)
        }
        #expect(throws: SkeinError(status: 413, "SQL: the statement needs more than 3 result rows in memory; narrow the WHERE clause or add a LIMIT")) {
            try run("SELECT * FROM dev.dog", maxRows: 3)
        }
        // Without ORDER BY only what is output is kept.
        #expect(try ids("SELECT * FROM dev.dog LIMIT 3", maxRows: 3) == [1, 2, 3])
    }

    @Test func orderByWithLimitKeepsOnlyTheBestRows() throws {
        guard case .select(let s) = try SQLParser.parse("SELECT id FROM dev.dog ORDER BY id DESC LIMIT 3 OFFSET 2") else { return }
        var runner = try SQLSelectRunner(s, maxRows: 1010)
        for id in 1...5000 { try runner.consume(SQLRow(Self.table, ["id": JSON(id)])) }
        #expect(runner.kept.count <= 1010)
        #expect(try runner.result() == [["id": 4998], ["id": 4997], ["id": 4996]])
    }

    @Test func misuseIsRefused() {
        #expect(throws: SkeinError.badRequest("SQL: aggregates are not allowed in WHERE")) { try run("SELECT * FROM dev.dog WHERE COUNT(*) > 1") }
        #expect(throws: SkeinError.badRequest("SQL: unknown table or alias 'x'")) { try run("SELECT x.id FROM dev.dog") }
        #expect(throws: SkeinError.badRequest("SQL: SELECT * cannot be combined with GROUP BY or aggregates; name the columns")) {
            try run("SELECT *, COUNT(*) FROM dev.dog")
        }
    }

    @Test func joinedRowsResolveQualifiedAndBareColumns() throws {
        let owner = SQLRow.Binding(name: "o", table: "owner", record: ["id": 1, "name": "Kyle"])
        let row = SQLRow(Self.table, Self.dogs[0]).adding(owner)
        let e = SQLEvaluator()
        #expect(try e.evaluate(.column(table: "o", name: "name"), row) == "Kyle")
        #expect(try e.evaluate(.column(table: "dog", name: "name"), row) == "Rex")
        #expect(try e.evaluate(.column(table: nil, name: "name"), row) == "Rex")
        #expect(row.all(table: nil)["name"] == "Rex" && row.all(table: "o") == ["id": 1, "name": "Kyle"])
    }

    @Test(arguments: [
        ("abc", "a%", true), ("abc", "%c", true), ("abc", "%b%", true), ("abc", "a_c", true), ("abc", "ABC", true),
        ("abc", "a_", false), ("abc", "%d%", false), ("", "%", true), ("a%b", "a%b", true), ("aXbXc", "a%b%c", true), ("ab", "a%b%c", false),
    ])
    func likePatterns(text: String, pattern: String, matches: Bool) {
        #expect(SQLLike.matches(text, pattern: pattern) == matches)
    }
}
