/// Recursive-descent parser of Harper's URL query language:
///
///     query      := item (('&' | '|') item)*
///     item       := '(' query ')' | function '(' args ')' | comparison
///     comparison := name ('=' value | '=' comparator '=' value | ('==' | '!=' | '<' | '<=' | '>' | '>=') value)
///     function   := 'select' | 'limit' | 'sort'      (top level only)
///
/// One group may not mix `&` and `|` (parentheses group). Names and values are
/// percent-decoded. Errors are 400s naming the problem and its position.
public struct RESTQueryParser {
    let text: String
    var tokens: [RESTQueryToken] = []
    var index = 0
    var query = RESTQuery()

    public init(_ text: String) { self.text = text }

    public mutating func parse() throws(SkeinError) -> RESTQuery {
        tokens = try RESTQueryLexer.tokens(text)
        if case .end = tokens[0].kind { return query }
        query.condition = try group(topLevel: true)
        guard case .end = peek.kind else { throw fail("unexpected \(peek.described)") }
        return query
    }

    static func error(_ problem: String, at position: Int, in text: String) -> SkeinError {
        .badRequest("Unable to parse query: \(problem) at position \(position) in '\(text)'")
    }

    func fail(_ problem: String, at token: RESTQueryToken? = nil) -> SkeinError {
        Self.error(problem, at: (token ?? peek).position, in: text)
    }

    var peek: RESTQueryToken { tokens[index] }

    mutating func next() -> RESTQueryToken {
        defer { if index < tokens.count - 1 { index += 1 } }
        return tokens[index]
    }

    func isSymbol(_ token: RESTQueryToken, _ s: String) -> Bool { token.kind == .symbol(s) }

    // MARK: Groups

    /// Items up to `)` (nested) or the end (top level); functions only at the top level.
    mutating func group(topLevel: Bool) throws(SkeinError) -> SearchCondition {
        var op: SearchCondition.GroupOperator?
        var children: [SearchCondition] = []
        var separator: (op: SearchCondition.GroupOperator, token: RESTQueryToken)?
        while true {
            if let condition = try item(topLevel: topLevel) {
                if let separator, !children.isEmpty {
                    if let op, op != separator.op {
                        throw fail("cannot mix '&' and '|' in one group (use parentheses)", at: separator.token)
                    }
                    op = separator.op
                }
                children.append(condition)
            }
            let token = peek
            if isSymbol(token, "&") || isSymbol(token, "|") {
                _ = next()
                separator = (isSymbol(token, "&") ? .and : .or, token)
                continue
            }
            if case .end = token.kind, topLevel { break }
            if isSymbol(token, ")"), !topLevel { break }
            throw fail("expected '&', '|' or \(topLevel ? "end of query" : "')'"), found \(token.described)")
        }
        if !topLevel, children.count == 1 { return children[0] }
        return .group(op ?? .and, children)
    }

    /// A condition, a parenthesized group, or a function (which returns nil: it sets the query's options).
    mutating func item(topLevel: Bool) throws(SkeinError) -> SearchCondition? {
        let token = next()
        switch token.kind {
        case .symbol("("):
            let nested = try group(topLevel: false)
            _ = next()  // the ')' `group` stopped at
            if case .group(_, let c) = nested, c.isEmpty { throw fail("empty parentheses", at: token) }
            return nested
        case .word(let raw):
            if isSymbol(peek, "(") {
                guard topLevel else { throw fail("\(raw)() is only allowed at the top level", at: token) }
                try function(raw, at: token)
                return nil
            }
            return try comparison(attribute: try decoded(raw, at: token), at: token)
        default:
            throw fail("expected an attribute, '(' or a function, found \(token.described)", at: token)
        }
    }

    // MARK: Comparisons

    static let symbolComparators: [String: String] = ["==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"]

    mutating func comparison(attribute: String, at start: RESTQueryToken) throws(SkeinError) -> SearchCondition {
        guard !attribute.isEmpty else { throw fail("empty attribute name", at: start) }
        let op = next()
        guard case .symbol(let symbol) = op.kind else { throw fail("expected a comparison after '\(attribute)', found \(op.described)", at: op) }
        let name: String
        if symbol == "=" {
            // `attr=value` (strict equals) or FIQL `attr=gt=value`.
            if case .word(let w) = peek.kind, isSymbol(tokens[index + 1], "=") {
                let fiql = next()
                _ = next()
                guard let n = try? decoded(w, at: fiql) else { throw fail("invalid comparator", at: fiql) }
                name = n
                return try condition(attribute, name, try value(), at: fiql)
            }
            name = "equals"
        } else if let n = Self.symbolComparators[symbol] {
            name = n
        } else {
            throw fail("expected a comparison after '\(attribute)', found \(op.described)", at: op)
        }
        return try condition(attribute, name, try value(), at: op)
    }

    /// The value after a comparator: one word, or empty.
    mutating func value() throws(SkeinError) -> (text: String, token: RESTQueryToken) {
        let token = peek
        guard case .word(let raw) = token.kind else { return ("", token) }
        _ = next()
        return (try decoded(raw, at: token), token)
    }

    /// Harper's comparator names (FIQL's two-letter ones and the operations API's long ones).
    static let comparators: [String: SearchCondition.Comparator] = [
        "sw": .starts_with, "ew": .ends_with, "ct": .contains,
    ]

    mutating func condition(_ attribute: String, _ name: String, _ value: (text: String, token: RESTQueryToken),
                            at token: RESTQueryToken) throws(SkeinError) -> SearchCondition {
        let strict = name == "equals"
        guard let comparator = Self.comparators[name] ?? SearchCondition.Comparator.named(name), comparator != .between else {
            throw fail("unknown comparator '\(name)' (use eq, ne, gt, ge, lt, le, sw, ew, ct or their long names)", at: token)
        }
        if name == "eq", value.text.contains("*") {
            // `name==Lab*`: Harper's wildcard, at the end only.
            guard value.text.hasSuffix("*"), value.text.dropLast().contains("*") == false else {
                throw fail("a wildcard '*' may only end a value", at: value.token)
            }
            return .leaf(attribute: attribute, comparator: .starts_with, value: .string(String(value.text.dropLast())))
        }
        let typed = strict ? JSON.string(value.text) : try typedValue(value.text, comparator, at: value.token)
        return .leaf(attribute: attribute, comparator: comparator, value: typed)
    }

    static let ranges: Set<SearchCondition.Comparator> = [.greater_than, .greater_than_equal, .less_than, .less_than_equal]

    /// Coercing comparators read `null`, `number:5`, `string:5`, `boolean:true`; a range
    /// comparator takes a number's text as the number (a URL has no types, records do).
    func typedValue(_ text: String, _ comparator: SearchCondition.Comparator, at token: RESTQueryToken) throws(SkeinError) -> JSON {
        if text == "null" { return .null }
        if let colon = text.firstIndex(of: ":") {
            let type = text[..<colon], rest = String(text[text.index(after: colon)...])
            switch type {
            case "number":
                guard let d = Double(rest), d.isFinite else { throw fail("'\(rest)' is not a number", at: token) }
                return .number(d)
            case "string": return .string(rest)
            case "boolean":
                guard rest == "true" || rest == "false" else { throw fail("'\(rest)' is not a boolean", at: token) }
                return .bool(rest == "true")
            default: break
            }
        }
        if Self.ranges.contains(comparator), let d = Double(text), d.isFinite, text.first != "+" { return .number(d) }
        return .string(text)
    }

    // MARK: Functions

    mutating func function(_ name: String, at token: RESTQueryToken) throws(SkeinError) {
        _ = next()  // '('
        var args: [(text: String, token: RESTQueryToken)] = []
        if !isSymbol(peek, ")") {
            while true {
                let arg = next()
                guard case .word(let raw) = arg.kind else { throw fail("expected an argument of \(name)(), found \(arg.described)", at: arg) }
                args.append((try decoded(raw, at: arg), arg))
                if isSymbol(peek, ",") { _ = next(); continue }
                guard isSymbol(peek, ")") else { throw fail("expected ',' or ')' in \(name)(), found \(peek.described)") }
                break
            }
        }
        _ = next()  // ')'
        switch name {
        case "select":
            guard query.select == nil else { throw fail("select() given twice", at: token) }
            guard !args.isEmpty else { throw fail("select() needs at least one attribute", at: token) }
            query.select = args.map(\.text)
        case "limit":
            guard query.limit == nil else { throw fail("limit() given twice", at: token) }
            let numbers = try args.map { (arg) throws(SkeinError) -> Int in
                guard let n = Int(arg.text), n >= 0 else { throw fail("limit() takes whole numbers, not '\(arg.text)'", at: arg.token) }
                return n
            }
            switch numbers.count {
            case 1: query.limit = numbers[0]
            case 2:
                // Harper's `limit(start,end)`: rows start..<end.
                guard numbers[1] >= numbers[0] else { throw fail("limit(start,end) needs end ≥ start", at: token) }
                query.offset = numbers[0]
                query.limit = numbers[1] - numbers[0]
            default: throw fail("limit() takes 1 or 2 arguments", at: token)
            }
        case "sort":
            guard query.sort == nil else { throw fail("sort() given twice", at: token) }
            guard args.count == 1 else { throw fail("sort() takes one attribute (sorting by several is not supported)", at: token) }
            var attribute = Substring(args[0].text), descending = false
            if let sign = attribute.first, sign == "+" || sign == "-" {
                descending = sign == "-"
                attribute = attribute.dropFirst()
            }
            guard !attribute.isEmpty else { throw fail("sort() needs an attribute", at: args[0].token) }
            query.sort = .init(attribute: String(attribute), descending: descending)
        default:
            throw fail("unknown function '\(name)()' (use select, limit or sort)", at: token)
        }
    }

    func decoded(_ raw: String, at token: RESTQueryToken) throws(SkeinError) -> String {
        guard let s = RESTQueryLexer.percentDecoded(raw) else { throw fail("invalid percent-encoding in '\(raw)'", at: token) }
        return s
    }
}
