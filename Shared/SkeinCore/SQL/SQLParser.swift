/// A recursive-descent parser from tokens to `SQLStatement`. One statement per request;
/// an error names the position and the token where the statement stopped making sense.
public struct SQLParser {
    var tokens: [SQLToken]
    var index = 0

    public static func parse(_ sql: String) throws(SkeinError) -> SQLStatement {
        var parser = SQLParser(tokens: try SQLTokenizer.tokenize(sql))
        return try parser.statement()
    }

    static func error(at position: Int, _ message: String) -> SkeinError {
        .badRequest("SQL syntax error at position \(position): \(message)")
    }

    /// The aggregate functions (the scalar ones are `SQLFunctions`').
    public static let aggregates: Set<String> = ["COUNT", "SUM", "AVG", "MIN", "MAX"]

    // MARK: Token stream

    var current: SQLToken { tokens[index] }

    mutating func advance() -> SQLToken {
        let t = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return t
    }

    mutating func accept(_ keyword: SQLKeyword) -> Bool {
        guard current.isKeyword(keyword) else { return false }
        index += 1
        return true
    }

    mutating func accept(symbol: String) -> Bool {
        guard current.isSymbol(symbol) else { return false }
        index += 1
        return true
    }

    func unexpected(_ expected: String) -> SkeinError {
        Self.error(at: current.position, "expected \(expected) but found \(current.described)")
    }

    mutating func expect(_ keyword: SQLKeyword) throws(SkeinError) {
        guard accept(keyword) else { throw unexpected(keyword.rawValue.uppercased()) }
    }

    mutating func expect(symbol: String) throws(SkeinError) {
        guard accept(symbol: symbol) else { throw unexpected("'\(symbol)'") }
    }

    mutating func name(_ what: String) throws(SkeinError) -> String {
        guard let name = current.name else { throw unexpected(what) }
        index += 1
        return name
    }

    func unsupported(_ what: String) -> SkeinError {
        .badRequest("SQL: \(what) is not supported (at position \(current.position))")
    }

    // MARK: Statements

    mutating func statement() throws(SkeinError) -> SQLStatement {
        let statement: SQLStatement
        switch current.kind {
        case .keyword(.select): statement = .select(try select())
        case .keyword(.insert): statement = .insert(try insert())
        case .keyword(.update): statement = .update(try update())
        case .keyword(.delete): statement = .delete(try delete())
        case .keyword(let k) where [.with, .create, .drop, .alter].contains(k):
            throw unsupported("the \(k.rawValue.uppercased()) statement")
        case .end: throw unexpected("a statement")
        default: throw unexpected("SELECT, INSERT, UPDATE or DELETE")
        }
        _ = accept(symbol: ";")
        if current.isKeyword(.union) { throw unsupported("UNION") }
        guard current.kind == .end else { throw unexpected("end of statement") }
        return statement
    }

    mutating func select() throws(SkeinError) -> SQLSelect {
        try expect(.select)
        var s = SQLSelect()
        s.distinct = accept(.distinct)
        if s.distinct { throw unsupported("SELECT DISTINCT") }
        repeat { s.items.append(try selectItem()) } while accept(symbol: ",")
        if accept(.from) {
            s.from = try tableName()
            s.joins = try joins()
        }
        if accept(.where) { s.filter = try expression() }
        if accept(.group) {
            try expect(.by)
            repeat { s.groupBy.append(try expression()) } while accept(symbol: ",")
        }
        if current.isKeyword(.having) { throw unsupported("HAVING") }
        if accept(.order) {
            try expect(.by)
            repeat {
                let e = try expression()
                let descending = accept(.desc)
                if !descending { _ = accept(.asc) }
                s.orderBy.append(SQLOrderItem(e, descending: descending))
            } while accept(symbol: ",")
        }
        if accept(.limit) {
            let first = try count("a row count after LIMIT")
            if accept(symbol: ",") {  // LIMIT offset, count
                s.offset = first
                s.limit = try count("a row count after LIMIT offset,")
            } else {
                s.limit = first
            }
        }
        if accept(.offset) { s.offset = try count("a row count after OFFSET") }
        return s
    }

    mutating func selectItem() throws(SkeinError) -> SQLSelectItem {
        if accept(symbol: "*") { return SQLSelectItem(.star(table: nil)) }
        if current.name != nil, tokens[index + 1].isSymbol("."), tokens[index + 2].isSymbol("*") {
            let table = try name("a table name")
            index += 2
            return SQLSelectItem(.star(table: table))
        }
        let e = try expression()
        return SQLSelectItem(e, alias: try alias())
    }

    /// `AS name`, or a bare name straight after.
    mutating func alias() throws(SkeinError) -> String? {
        if accept(.as) { return try name("an alias after AS") }
        if let n = current.name {
            index += 1
            return n
        }
        return nil
    }

    mutating func tableName() throws(SkeinError) -> SQLTableName {
        let position = current.position
        let first = try name("a table name")
        guard accept(symbol: ".") else {
            throw Self.error(at: position, "table '\(first)' must be named with its database, as database.table")
        }
        let table = try name("a table name after '\(first).'")
        return SQLTableName(database: first, table: table, alias: try alias())
    }

    mutating func joins() throws(SkeinError) -> [SQLJoin] {
        var joins: [SQLJoin] = []
        while true {
            if current.kind == .symbol(",") { throw unsupported("a comma join (use INNER JOIN ... ON)") }
            for kind in [SQLKeyword.right, .full, .cross, .outer] where current.isKeyword(kind) {
                throw unsupported("\(kind.rawValue.uppercased()) JOIN")
            }
            let left = accept(.left)
            if left { _ = accept(.outer) }
            let inner = !left && accept(.inner)
            guard accept(.join) else {
                if inner || left { throw unexpected("JOIN") }
                return joins
            }
            let table = try tableName()
            try expect(.on)
            joins.append(SQLJoin(table: table, on: try expression(), left: left))
        }
    }

    mutating func insert() throws(SkeinError) -> SQLInsert {
        try expect(.insert)
        try expect(.into)
        let table = try tableName()
        try expect(symbol: "(")
        var columns: [String] = []
        repeat { columns.append(try name("a column name")) } while accept(symbol: ",")
        try expect(symbol: ")")
        if current.isKeyword(.select) { throw unsupported("INSERT ... SELECT") }
        try expect(.values)
        var rows: [[SQLExpression]] = []
        repeat {
            let position = current.position
            try expect(symbol: "(")
            var row: [SQLExpression] = []
            repeat { row.append(try expression()) } while accept(symbol: ",")
            try expect(symbol: ")")
            guard row.count == columns.count else {
                throw Self.error(at: position, "\(row.count) values for \(columns.count) columns")
            }
            rows.append(row)
        } while accept(symbol: ",")
        return SQLInsert(table: table, columns: columns, rows: rows)
    }

    mutating func update() throws(SkeinError) -> SQLUpdate {
        try expect(.update)
        let table = try tableName()
        try expect(.set)
        var assignments: [SQLAssignment] = []
        repeat {
            let column = try name("a column name")
            try expect(symbol: "=")
            assignments.append(SQLAssignment(column: column, value: try expression()))
        } while accept(symbol: ",")
        let filter = accept(.where) ? try expression() : nil
        return SQLUpdate(table: table, assignments: assignments, filter: filter)
    }

    mutating func delete() throws(SkeinError) -> SQLDelete {
        try expect(.delete)
        try expect(.from)
        let table = try tableName()
        let filter = accept(.where) ? try expression() : nil
        return SQLDelete(table: table, filter: filter)
    }

    mutating func count(_ what: String) throws(SkeinError) -> Int {
        guard case .number(let n) = current.kind, n >= 0, n == n.rounded(), n < 1e15 else { throw unexpected(what) }
        index += 1
        return Int(n)
    }
}
