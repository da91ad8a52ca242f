import Testing
@testable import SkeinCore

@Suite("SQL tokenizer and parser")
struct SQLParserTests {
    func select(_ sql: String) throws -> SQLSelect {
        guard case .select(let s) = try SQLParser.parse(sql) else { throw SkeinError.internal("not a SELECT") }
        return s
    }

    /// The message of the error `sql` is refused with.
    func refusal(_ sql: String) -> String? {
        do {
            _ = try SQLParser.parse(sql)
            return nil
        } catch {
            #expect(error.status == 400)
            return error.message
        }
    }

    @Test func tokenizesWithPositions() throws {
        let tokens = try SQLTokenizer.tokenize("SELECT `a b`, 'it''s' FROM dev.dog WHERE x <> 1.5e2")
        #expect(tokens.map(\.kind) == [
            .keyword(.select), .quotedIdentifier("a b"), .symbol(","), .string("it's"), .keyword(.from), .identifier("dev"), .symbol("."),
            .identifier("dog"), .keyword(.where), .identifier("x"), .symbol("<>"), .number(150), .end,
        ])
        #expect(tokens.map(\.position) == [1, 8, 13, 15, 23, 28, 31, 32, 36, 42, 44, 47, 52])
    }

    @Test func keywordsIgnoreCaseAndCommentsAreSkipped() throws {
        let tokens = try SQLTokenizer.tokenize("sElEcT -- a comment\n /* and\n another */ x")
        #expect(tokens.map(\.kind) == [.keyword(.select), .identifier("x"), .end])
    }

    @Test(arguments: [
        ("SELECT 'abc", "SQL syntax error at position 8: unterminated string starting '"),
        ("SELECT `abc", "SQL syntax error at position 8: unterminated quoted name starting `"),
        ("SELECT a # b", "SQL syntax error at position 10: unexpected character '#'"),
        ("SELECT 12ab", "SQL syntax error at position 8: malformed number '12a'"),
        ("SELECT * FROM", "SQL syntax error at position 14: expected a table name but found end of statement"),
        ("SELECT * FROM dog", "SQL syntax error at position 15: table 'dog' must be named with its database, as database.table"),
        ("SELECT a FROM dev.dog WHERE", "SQL syntax error at position 28: expected an expression but found end of statement"),
        ("SELECT a FROM dev.dog WHERE a = = 1", "SQL syntax error at position 33: expected an expression but found '='"),
        ("SELECT a, FROM dev.dog", "SQL syntax error at position 11: expected an expression but found 'FROM'"),
        ("SELECT a FROM dev.dog ORDER age", "SQL syntax error at position 29: expected BY but found 'age'"),
        ("SELECT a FROM dev.dog LIMIT -1", "SQL syntax error at position 29: expected a row count after LIMIT but found '-'"),
        ("SELECT a FROM dev.dog x y", "SQL syntax error at position 25: expected end of statement but found 'y'"),
        ("SELEC a", "SQL syntax error at position 1: expected SELECT, INSERT, UPDATE or DELETE but found 'SELEC'"),
        ("", "SQL syntax error at position 1: expected a statement but found end of statement"),
        ("INSERT INTO dev.dog (id, name) VALUES (1)", "SQL syntax error at position 39: 1 values for 2 columns"),
        ("SELECT a FROM dev.dog WHERE a NOT 3", "SQL syntax error at position 35: expected IN, LIKE or BETWEEN after NOT but found '3'"),
    ])
    func syntaxErrorsNamePositionAndToken(sql: String, message: String) {
        #expect(refusal(sql) == message)
    }

    @Test(arguments: [
        ("SELECT a FROM dev.dog d RIGHT JOIN dev.owner o ON d.o = o.id", "RIGHT JOIN"),
        ("SELECT a FROM dev.dog d, dev.owner o", "a comma join (use INNER JOIN ... ON)"),
        ("SELECT a FROM dev.dog GROUP BY a HAVING COUNT(*) > 1", "HAVING"),
        ("SELECT a FROM dev.dog WHERE a IN (SELECT b FROM dev.x)", "a subquery"),
        ("SELECT a FROM dev.dog UNION SELECT b FROM dev.x", "UNION"),
        ("SELECT DISTINCT a FROM dev.dog", "SELECT DISTINCT"),
        ("CREATE TABLE x (a int)", "the CREATE statement"),
        ("SELECT search_json('x', y) FROM dev.dog", "function 'SEARCH_JSON'"),
        ("INSERT INTO dev.dog (a) SELECT a FROM dev.x", "INSERT ... SELECT"),
    ])
    func unsupportedStatementsSaySo(sql: String, what: String) throws {
        let message = try #require(refusal(sql))
        #expect(message.hasPrefix("SQL: \(what) is not supported"), "\(message)")
    }

    @Test func parsesAFullSelect() throws {
        let s = try select("""
            select d.name AS dog, o.name owner, count(*), avg(d.age) from `dev`.`dog` as d inner join dev.owner o on d.owner_id = o.id
            where d.age >= 3 and not (d.breed like 'Lab%' or d.name in ('Rex', 'Max')) and o.id between 1 and 9 and d.x is not null
            group by d.name, o.name order by dog desc, 2 limit 10 offset 5;
            """)
        #expect(s.items.map(SQLSelectRunner.columnName) == ["dog", "owner", "COUNT(*)", "AVG(d.age)"])
        #expect(s.from == SQLTableName(database: "dev", table: "dog", alias: "d"))
        #expect(s.joins.count == 1 && s.joins[0].table == SQLTableName(database: "dev", table: "owner", alias: "o"))
        #expect(s.joins[0].on == .binary(.equal, .column(table: "d", name: "owner_id"), .column(table: "o", name: "id")))
        #expect(s.filter?.description == "d.age >= 3 AND NOT d.breed LIKE 'Lab%' OR d.name IN ('Rex', 'Max') AND o.id BETWEEN 1 AND 9 AND d.x IS NOT NULL")
        #expect(SQLPlanner.conjuncts(s.filter).count == 4)
        #expect(s.groupBy == [.column(table: "d", name: "name"), .column(table: "o", name: "name")])
        #expect(s.orderBy == [SQLOrderItem(.column(table: nil, name: "dog"), descending: true), SQLOrderItem(.literal(2))])
        #expect(s.limit == 10 && s.offset == 5)
    }

    @Test func precedenceIsOrThenAndThenNotThenComparison() throws {
        let s = try select("SELECT a FROM d.t WHERE a = 1 OR b = 2 AND NOT c = 3")
        #expect(s.filter == .binary(.or, .binary(.equal, .column(table: nil, name: "a"), .literal(1)),
                                    .binary(.and, .binary(.equal, .column(table: nil, name: "b"), .literal(2)),
                                            .not(.binary(.equal, .column(table: nil, name: "c"), .literal(3))))))
        #expect(try select("SELECT 2 + 3 * 4 - -1").items[0].expression.description == "2 + 3 * 4 - -1")
    }

    @Test func leftJoins() throws {
        let s = try select("SELECT * FROM a.b x LEFT OUTER JOIN a.c y ON x.i = y.i LEFT JOIN a.d z ON z.i = y.i JOIN a.e w ON w.i = x.i")
        #expect(s.joins.map(\.left) == [true, true, false])
        #expect(refusal("SELECT * FROM a.b x LEFT a.c y ON x.i = y.i") == "SQL syntax error at position 26: expected JOIN but found 'a'")
    }

    @Test func limitWithOffsetFirst() throws {
        let s = try select("SELECT * FROM d.t LIMIT 5, 10")
        #expect(s.offset == 5 && s.limit == 10)
        #expect(s.items == [SQLSelectItem(.star(table: nil))])
    }

    @Test func parsesWrites() throws {
        #expect(try SQLParser.parse("INSERT INTO dev.dog (id, name) VALUES (1, 'Rex'), (2, 'Ace')") == .insert(SQLInsert(
            table: SQLTableName(database: "dev", table: "dog"), columns: ["id", "name"],
            rows: [[.literal(1), .literal("Rex")], [.literal(2), .literal("Ace")]])))
        #expect(try SQLParser.parse("UPDATE dev.dog SET age = age + 1, name = 'x' WHERE id = 3") == .update(SQLUpdate(
            table: SQLTableName(database: "dev", table: "dog"),
            assignments: [SQLAssignment(column: "age", value: .binary(.add, .column(table: nil, name: "age"), .literal(1))),
                          SQLAssignment(column: "name", value: .literal("x"))],
            filter: .binary(.equal, .column(table: nil, name: "id"), .literal(3)))))
        #expect(try SQLParser.parse("DELETE FROM dev.dog") == .delete(SQLDelete(table: SQLTableName(database: "dev", table: "dog"), filter: nil)))
    }
}
