/// What the planner knows of a table: its primary key and which attributes have an index
/// (from `describe_table`).
public struct SQLTableInfo: Sendable, Equatable {
    public var primaryKey: String
    public var indexed: Set<String>
    /// Every attribute the table has had.
    public var attributes: Set<String>

    public init(primaryKey: String, indexed: Set<String>, attributes: Set<String> = []) {
        self.primaryKey = primaryKey
        self.indexed = indexed
        self.attributes = attributes.union(indexed).union([primaryKey])
    }

    /// From a `describe_table` answer.
    public init(describe: JSON) {
        let list = describe["attributes"]?.arrayValue ?? []
        self.init(primaryKey: describe["primary_key"]?.stringValue ?? describe["hash_attribute"]?.stringValue ?? "id",
                  indexed: Set(list.compactMap { $0["indexed"]?.boolValue == true ? $0["attribute"]?.stringValue : nil }),
                  attributes: Set(list.compactMap { $0["attribute"]?.stringValue }))
    }
}

/// How a table's candidate records are read: all of them, or those an index (or the primary
/// key) finds for one condition, which the store checks again before returning them.
public enum SQLAccessPath: Sendable, Equatable {
    case scan
    case index(attribute: String, condition: SearchCondition)

    /// The `conditions` of the `search_by_conditions` request that reads the candidates.
    public var conditions: JSON {
        switch self {
        case .scan: []
        case .index(_, let c): [c.json]
        }
    }

    /// The condition an index answers; nil for a scan.
    public var condition: SearchCondition? {
        if case .index(_, let c) = self { return c }
        return nil
    }

    /// For the plan log: `scan` or `index(age)`.
    public var summary: String {
        switch self {
        case .scan: "scan"
        case .index(let attribute, _): "index(\(attribute))"
        }
    }
}

/// Picks how to read a table for a WHERE clause: the most selective condition an index can
/// answer among the clause's top-level AND terms (equality on the primary key, then equality
/// or IN on an indexed attribute, then BETWEEN, LIKE 'prefix%', one-sided ranges); a scan
/// when there is none. The whole WHERE is still evaluated on every candidate, so the
/// choice changes the cost, never the result.
public enum SQLPlanner {
    public static func plan(_ filter: SQLExpression?, for table: SQLTableName, soleTable: Bool, info: SQLTableInfo) -> SQLAccessPath {
        var best: (rank: Int, path: SQLAccessPath)?
        for term in conjuncts(filter) {
            guard let candidate = sargable(term, table, soleTable, info) else { continue }
            if best.map({ candidate.rank < $0.rank }) ?? true { best = candidate }
        }
        return best?.path ?? .scan
    }

    /// The terms of a top-level AND chain.
    public static func conjuncts(_ e: SQLExpression?) -> [SQLExpression] {
        guard let e else { return [] }
        if case .binary(.and, let l, let r) = e { return conjuncts(l) + conjuncts(r) }
        return [e]
    }

    /// The AND chain of `terms`; nil for none.
    public static func conjunction(_ terms: [SQLExpression]) -> SQLExpression? {
        terms.dropFirst().reduce(terms.first) { chain, term in chain.map { .binary(.and, $0, term) } }
    }

    /// The WHERE terms that name columns of `table` only, each qualified: for an inner join
    /// they can filter that table on its own, before any pair is made.
    public static func terms(_ filter: SQLExpression?, onlyOf table: SQLTableName) -> [SQLExpression] {
        conjuncts(filter).filter { term in
            let columns = term.columns
            return !columns.isEmpty && columns.allSatisfy { column in
                guard case .column(let q?, _) = column else { return false }
                return q == table.binding || q == table.table
            }
        }
    }

    /// The attribute `e` names when it is a column of `table`.
    static func attribute(_ e: SQLExpression, _ table: SQLTableName, _ soleTable: Bool) -> String? {
        guard case .column(let qualifier, let name) = e else { return nil }
        if let qualifier { return qualifier == table.binding || qualifier == table.table ? name : nil }
        return soleTable ? name : nil
    }

    /// A value an index can look up: a number, string or boolean literal.
    static func key(_ e: SQLExpression) -> JSON? {
        guard case .literal(let v) = e, v.isKeyScalar || v.boolValue != nil else { return nil }
        return v
    }

    static let flipped: [SQLBinaryOperator: SQLBinaryOperator] = [.less: .greater, .lessOrEqual: .greaterOrEqual, .greater: .less, .greaterOrEqual: .lessOrEqual, .equal: .equal]
    static let comparators: [SQLBinaryOperator: SearchCondition.Comparator] = [
        .equal: .equals, .less: .less_than, .lessOrEqual: .less_than_equal, .greater: .greater_than, .greaterOrEqual: .greater_than_equal,
    ]

    static func sargable(_ term: SQLExpression, _ table: SQLTableName, _ soleTable: Bool, _ info: SQLTableInfo) -> (rank: Int, path: SQLAccessPath)? {
        func usable(_ attribute: String, equality: Bool) -> Bool {
            attribute == info.primaryKey ? equality : info.indexed.contains(attribute)
        }
        func path(_ attribute: String, _ condition: SearchCondition, _ rank: Int) -> (Int, SQLAccessPath) {
            (attribute == info.primaryKey ? rank - 10 : rank, .index(attribute: attribute, condition: condition))
        }
        switch term {
        case .binary(let written, let l, let r):
            var (column, value, op) = (l, r, written)
            if attribute(l, table, soleTable) == nil, let f = flipped[op] { (column, value, op) = (r, l, f) }
            guard let c = comparators[op], let a = attribute(column, table, soleTable), let v = key(value),
                  usable(a, equality: op == .equal) else { return nil }
            return path(a, .leaf(attribute: a, comparator: c, value: v), op == .equal ? 0 : 6)
        case .inList(let column, let list, negated: false):
            guard let a = attribute(column, table, soleTable), usable(a, equality: true), !list.isEmpty, list.count <= 1000 else { return nil }
            var leaves: [SearchCondition] = []
            for item in list {
                guard let v = key(item) else { return nil }
                leaves.append(.leaf(attribute: a, comparator: .equals, value: v))
            }
            return path(a, .group(.or, leaves), 1)
        case .between(let column, let low, let high, negated: false):
            guard let a = attribute(column, table, soleTable), usable(a, equality: false), let lo = key(low), let hi = key(high) else { return nil }
            return path(a, .leaf(attribute: a, comparator: .between, value: [lo, hi]), 4)
        case .like(let column, .literal(.string(let pattern)), negated: false):
            guard let a = attribute(column, table, soleTable), usable(a, equality: false) else { return nil }
            let variants = caseVariants(SQLLike.prefix(pattern))
            guard !variants.isEmpty else { return nil }
            return path(a, .group(.or, variants.map { .leaf(attribute: a, comparator: .starts_with, value: .string($0)) }), 5)
        default:
            return nil
        }
    }

    /// LIKE ignores case but the index does not: the prefix cut after its third letter, in
    /// every mix of upper and lower case (at most 8 prefixes). Empty when there is no prefix.
    static func caseVariants(_ prefix: String) -> [String] {
        var variants = [""]
        var letters = 0
        for ch in prefix {
            let lower = String(ch).lowercased(), upper = String(ch).uppercased()
            if lower == upper {
                variants = variants.map { $0 + String(ch) }
                continue
            }
            guard letters < 3, lower.count == 1, upper.count == 1 else { break }
            letters += 1
            variants = variants.flatMap { [$0 + lower, $0 + upper] }
        }
        return variants == [""] ? [] : variants
    }
}
