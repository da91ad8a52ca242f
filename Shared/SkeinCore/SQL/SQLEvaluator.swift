/// Evaluates expressions against a row. The comparisons are the ones `search_by_conditions`
/// uses (`SearchCondition`): `=` is loose (`1` equals `'1'`), ranges compare numbers with
/// numbers and strings with strings only, an array matches by one of its elements, and a
/// missing attribute is null. Logic is two-valued
/// like Harper's (a comparison with null is false, so `NOT (x = 1)` holds where x is missing).
public struct SQLEvaluator: Sendable {
    /// The values of aggregate calls for the group being output, by their text.
    public var aggregates: [String: JSON] = [:]

    public init(aggregates: [String: JSON] = [:]) { self.aggregates = aggregates }

    public func evaluate(_ e: SQLExpression, _ row: SQLRow) throws(SkeinError) -> JSON {
        switch e {
        case .literal(let v): return v
        case .column(let table, let name): return row.value(table: table, name: name)
        case .star: throw SkeinError.badRequest("SQL: '*' is allowed only as a select item or in COUNT(*)")
        case .not(let inner): return .bool(!Self.truthy(try evaluate(inner, row)))
        case .negate(let inner):
            guard case .number(let n) = try evaluate(inner, row) else { return .null }
            return .number(-n)
        case .binary(let op, let l, let r): return try binary(op, l, r, row)
        case .isNull(let inner, let negated): return .bool(try evaluate(inner, row).isNull != negated)
        case .inList(let inner, let list, let negated):
            let v = try evaluate(inner, row)
            var found = false
            for item in list {
                found = Self.compared(v, try evaluate(item, row), SearchCondition.looselyEqual)
                if found { break }
            }
            return .bool(found != negated)
        case .between(let inner, let low, let high, let negated):
            let v = try evaluate(inner, row)
            let lo = try evaluate(low, row), hi = try evaluate(high, row)
            let inside = SearchCondition.whole(v) { x in
                (SearchCondition.order(x, lo).map { $0 >= 0 } ?? false) && (SearchCondition.order(x, hi).map { $0 <= 0 } ?? false)
            }
            return .bool(inside != negated)
        case .like(let inner, let pattern, let negated):
            guard case .string(let s) = try evaluate(inner, row), case .string(let p) = try evaluate(pattern, row) else { return false }
            return .bool(SQLLike.matches(s, pattern: p) != negated)
        case .function(let name, let args, _):
            if SQLParser.aggregates.contains(name) {
                guard let v = aggregates[e.description] else {
                    throw SkeinError.badRequest("SQL: \(name) is an aggregate: it may stand in the select list and ORDER BY, not in WHERE or ON")
                }
                return v
            }
            return SQLFunctions.apply(name, try args.map { (a) throws(SkeinError) in try evaluate(a, row) })
        }
    }

    func binary(_ op: SQLBinaryOperator, _ l: SQLExpression, _ r: SQLExpression, _ row: SQLRow) throws(SkeinError) -> JSON {
        switch op {
        case .and:
            guard Self.truthy(try evaluate(l, row)) else { return false }
            return .bool(Self.truthy(try evaluate(r, row)))
        case .or:
            if Self.truthy(try evaluate(l, row)) { return true }
            return .bool(Self.truthy(try evaluate(r, row)))
        default: break
        }
        let a = try evaluate(l, row), b = try evaluate(r, row)
        switch op {
        case .equal: return .bool(Self.compared(a, b, SearchCondition.looselyEqual))
        case .notEqual: return .bool(!Self.compared(a, b, SearchCondition.looselyEqual))
        case .less: return .bool(Self.compared(a, b) { SearchCondition.order($0, $1).map { $0 < 0 } ?? false })
        case .lessOrEqual: return .bool(Self.compared(a, b) { SearchCondition.order($0, $1).map { $0 <= 0 } ?? false })
        case .greater: return .bool(Self.compared(a, b) { SearchCondition.order($0, $1).map { $0 > 0 } ?? false })
        case .greaterOrEqual: return .bool(Self.compared(a, b) { SearchCondition.order($0, $1).map { $0 >= 0 } ?? false })
        default: return Self.arithmetic(op, a, b)
        }
    }

    /// A comparison as `search_by_conditions` makes it (`SearchCondition.compare`), so a
    /// statement answers the same whether the store or the gateway runs it: an array on
    /// either side matches when it does whole or by one of its elements; with null, whole
    /// values only.
    static func compared(_ a: JSON, _ b: JSON, _ test: (JSON, JSON) -> Bool) -> Bool {
        if a.isNull || b.isNull { return test(a, b) }
        return SearchCondition.whole(a) { x in SearchCondition.whole(b) { y in test(x, y) } }
    }

    /// Numbers only, except `+` of strings, which joins them; anything else, and a division
    /// by zero, is null.
    static func arithmetic(_ op: SQLBinaryOperator, _ a: JSON, _ b: JSON) -> JSON {
        if op == .add, case .string(let x) = a, case .string(let y) = b { return .string(x + y) }
        guard case .number(let x) = a, case .number(let y) = b else { return .null }
        switch op {
        case .add: return .number(x + y)
        case .subtract: return .number(x - y)
        case .multiply: return .number(x * y)
        case .divide: return y == 0 ? .null : .number(x / y)
        case .modulo: return y == 0 ? .null : .number(x.truncatingRemainder(dividingBy: y))
        default: return .null
        }
    }

    /// Whether a WHERE or ON value admits the row: true, a non-zero number, a non-empty string.
    public static func truthy(_ v: JSON) -> Bool {
        switch v {
        case .bool(let b): b
        case .number(let n): n != 0
        case .string(let s): !s.isEmpty
        default: false
        }
    }

    public func admits(_ filter: SQLExpression?, _ row: SQLRow) throws(SkeinError) -> Bool {
        guard let filter else { return true }
        return Self.truthy(try evaluate(filter, row))
    }
}
