/// The running value of one aggregate call (COUNT, SUM, AVG, MIN, MAX) over a group's rows.
/// Nulls are skipped, as in SQL; SUM and AVG add numbers only.
struct SQLAggregate: Sendable {
    let call: SQLExpression
    var count = 0
    var sum = 0.0
    var numbers = 0
    var least: JSON?
    var greatest: JSON?
    var seen: Set<JSON> = []

    init(_ call: SQLExpression) { self.call = call }

    mutating func add(_ row: SQLRow, _ evaluator: SQLEvaluator) throws(SkeinError) {
        guard case .function(let name, let args, let distinct) = call else { return }
        if case .star = args[0] {
            count += 1
            return
        }
        let v = try evaluator.evaluate(args[0], row)
        if v.isNull { return }
        if distinct {
            if seen.insert(v).inserted { count += 1 }
            return
        }
        count += 1
        if case .number(let n) = v {
            sum += n
            numbers += 1
        }
        if name == "MIN" || name == "MAX" {
            if least.map({ SQLOrdering.compare(v, $0) < 0 }) ?? true { least = v }
            if greatest.map({ SQLOrdering.compare(v, $0) > 0 }) ?? true { greatest = v }
        }
    }

    var value: JSON {
        guard case .function(let name, _, _) = call else { return .null }
        switch name {
        case "COUNT": return JSON(count)
        case "SUM": return numbers == 0 ? .null : .number(sum)
        case "AVG": return numbers == 0 ? .null : .number(sum / Double(numbers))
        case "MIN": return least ?? .null
        case "MAX": return greatest ?? .null
        default: return .null
        }
    }

    /// Every aggregate call in `e`, outermost first.
    static func calls(in e: SQLExpression) -> [SQLExpression] {
        if case .function(let name, _, _) = e, SQLParser.aggregates.contains(name) { return [e] }
        return e.children.flatMap(calls)
    }
}

/// The order ORDER BY, MIN and MAX use, the store's sort order: numbers by value, strings
/// by UTF-8 bytes (the index's order), and across kinds null < booleans < numbers < strings
/// < the rest (booleans tie among themselves).
public enum SQLOrdering {
    public static func compare(_ a: JSON, _ b: JSON) -> Int {
        SearchCondition.order(a, b) ?? (rank(a) - rank(b))
    }

    static func rank(_ v: JSON) -> Int {
        switch v {
        case .null: 0
        case .bool: 1
        case .number: 2
        case .string: 3
        default: 4
        }
    }
}
