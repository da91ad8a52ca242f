/// Expressions, by precedence from loosest to tightest: OR, AND, NOT, predicates
/// (comparison, IS NULL, IN, LIKE, BETWEEN), + and -, * / and %, unary minus, primaries.
extension SQLParser {
    mutating func expression() throws(SkeinError) -> SQLExpression {
        var left = try conjunction()
        while accept(.or) { left = .binary(.or, left, try conjunction()) }
        return left
    }

    mutating func conjunction() throws(SkeinError) -> SQLExpression {
        var left = try negation()
        while accept(.and) { left = .binary(.and, left, try negation()) }
        return left
    }

    mutating func negation() throws(SkeinError) -> SQLExpression {
        if accept(.not) { return .not(try negation()) }
        return try predicate()
    }

    static let comparisons: [String: SQLBinaryOperator] = [
        "=": .equal, "!=": .notEqual, "<>": .notEqual, "<": .less, "<=": .lessOrEqual, ">": .greater, ">=": .greaterOrEqual,
    ]

    mutating func predicate() throws(SkeinError) -> SQLExpression {
        let left = try additive()
        if case .symbol(let s) = current.kind, let op = Self.comparisons[s] {
            index += 1
            return .binary(op, left, try additive())
        }
        if accept(.is) {
            let negated = accept(.not)
            try expect(.null)
            return .isNull(left, negated: negated)
        }
        let negated = accept(.not)
        if accept(.in) {
            try expect(symbol: "(")
            if current.isKeyword(.select) { throw unsupported("a subquery") }
            var list: [SQLExpression] = []
            repeat { list.append(try additive()) } while accept(symbol: ",")
            try expect(symbol: ")")
            return .inList(left, list, negated: negated)
        }
        if accept(.like) { return .like(left, pattern: try additive(), negated: negated) }
        if accept(.between) {
            let low = try additive()
            try expect(.and)
            return .between(left, low: low, high: try additive(), negated: negated)
        }
        if negated { throw unexpected("IN, LIKE or BETWEEN after NOT") }
        return left
    }

    mutating func additive() throws(SkeinError) -> SQLExpression {
        var left = try multiplicative()
        while true {
            if accept(symbol: "+") { left = .binary(.add, left, try multiplicative()) }
            else if accept(symbol: "-") { left = .binary(.subtract, left, try multiplicative()) }
            else { return left }
        }
    }

    mutating func multiplicative() throws(SkeinError) -> SQLExpression {
        var left = try unary()
        while true {
            if accept(symbol: "*") { left = .binary(.multiply, left, try unary()) }
            else if accept(symbol: "/") { left = .binary(.divide, left, try unary()) }
            else if accept(symbol: "%") { left = .binary(.modulo, left, try unary()) }
            else { return left }
        }
    }

    mutating func unary() throws(SkeinError) -> SQLExpression {
        if accept(symbol: "-") {
            let operand = try unary()
            if case .literal(.number(let n)) = operand { return .literal(.number(-n)) }
            return .negate(operand)
        }
        if accept(symbol: "+") { return try unary() }
        return try primary()
    }

    mutating func primary() throws(SkeinError) -> SQLExpression {
        let token = current
        switch token.kind {
        case .number(let n):
            index += 1
            return .literal(.number(n))
        case .string(let s):
            index += 1
            return .literal(.string(s))
        case .keyword(.true), .keyword(.false):
            index += 1
            return .literal(.bool(token.isKeyword(.true)))
        case .keyword(.null):
            index += 1
            return .literal(.null)
        case .symbol("("):
            index += 1
            if current.isKeyword(.select) { throw unsupported("a subquery") }
            let e = try expression()
            try expect(symbol: ")")
            return e
        case .identifier(let word) where tokens[index + 1].isSymbol("("):
            index += 2
            return try call(word.uppercased(), at: token.position)
        case .identifier, .quotedIdentifier:
            let first = try name("a column")
            guard accept(symbol: ".") else { return .column(table: nil, name: first) }
            return .column(table: first, name: try name("a column name after '\(first).'"))
        default:
            throw unexpected("an expression")
        }
    }

    /// A function call after its `(`: an aggregate (COUNT(*), COUNT(DISTINCT x), SUM(x),
    /// ...) or one of `SQLFunctions`.
    mutating func call(_ function: String, at position: Int) throws(SkeinError) -> SQLExpression {
        guard let arity = Self.aggregates.contains(function) ? 1...1 : SQLFunctions.arity[function] else {
            throw SkeinError.badRequest("SQL: function '\(function)' is not supported (at position \(position))")
        }
        let distinct = accept(.distinct)
        var arguments: [SQLExpression] = []
        if function == "COUNT", !distinct, accept(symbol: "*") {
            arguments = [.star(table: nil)]
        } else if !current.isSymbol(")") {
            repeat { arguments.append(try expression()) } while accept(symbol: ",")
        }
        try expect(symbol: ")")
        guard arity.contains(arguments.count) else {
            let takes = arity.count == 1 ? "\(arity.lowerBound)" : "\(arity.lowerBound) to \(arity.upperBound)"
            throw SkeinError.badRequest("SQL: \(function) takes \(takes) argument\(arity.upperBound == 1 ? "" : "s"), not \(arguments.count) (at position \(position))")
        }
        if distinct, function != "COUNT" { throw SkeinError.badRequest("SQL: DISTINCT is supported only in COUNT (at position \(position))") }
        return .function(name: function, arguments: arguments, distinct: distinct)
    }
}
