/// The scalar functions: how many arguments each takes and what it computes. A wrong type
/// of argument gives null, as a missing attribute does. (The aggregates are `SQLAggregate`'s.)
enum SQLFunctions {
    static let arity: [String: ClosedRange<Int>] = [
        "UPPER": 1...1, "LOWER": 1...1, "LENGTH": 1...1, "ABS": 1...1, "FLOOR": 1...1, "CEIL": 1...1, "CEILING": 1...1,
        "ROUND": 1...2, "COALESCE": 1...64,
    ]

    static func apply(_ name: String, _ args: [JSON]) -> JSON {
        switch (name, args[0]) {
        case ("COALESCE", _): return args.first { !$0.isNull } ?? .null
        case ("UPPER", .string(let s)): return .string(s.uppercased())
        case ("LOWER", .string(let s)): return .string(s.lowercased())
        case ("LENGTH", .string(let s)): return JSON(s.count)
        case ("ABS", .number(let n)): return .number(abs(n))
        case ("FLOOR", .number(let n)): return .number(n.rounded(.down))
        case ("CEIL", .number(let n)), ("CEILING", .number(let n)): return .number(n.rounded(.up))
        case ("ROUND", .number(let n)):
            // ROUND(x, digits): half away from zero, as SQL and Harper round.
            let digits = args.count > 1 ? args[1].doubleValue : 0
            guard let digits, digits == digits.rounded(), abs(digits) <= 15 else { return .null }
            var scale = 1.0
            for _ in 0..<Int(abs(digits)) { scale *= 10 }
            return .number(digits >= 0 ? (n * scale).rounded() / scale : (n / scale).rounded() * scale)
        default: return .null
        }
    }
}
