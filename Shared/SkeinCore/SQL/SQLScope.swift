/// Checks that every `t.column` and `t.*` of a SELECT names a table of its FROM clause (by
/// alias or table name), so a typo is a 400 rather than a column of nulls.
public enum SQLScope {
    public static func validate(_ select: SQLSelect) throws(SkeinError) {
        let tables = select.tables
        var names = Set(tables.map(\.binding))
        names.formUnion(tables.map(\.table))
        guard Set(tables.map(\.binding)).count == tables.count else {
            throw SkeinError.badRequest("SQL: the same table name or alias is used twice; give each table its own alias")
        }
        var expressions = select.items.map(\.expression) + select.groupBy + select.orderBy.map(\.expression) + select.joins.map(\.on)
        if let f = select.filter { expressions.append(f) }
        for q in expressions.flatMap(\.qualifiers) where !names.contains(q) {
            throw SkeinError.badRequest("SQL: unknown table or alias '\(q)'")
        }
        if tables.isEmpty, let column = expressions.first(where: { !$0.columns.isEmpty }) {
            throw SkeinError.badRequest("SQL: '\(column)' names a column but the statement has no FROM clause")
        }
    }
}

extension SQLExpression {
    /// Every column and `*` inside it.
    public var columns: [SQLExpression] {
        switch self {
        case .column, .star: [self]
        default: children.flatMap(\.columns)
        }
    }
}

/// How a joined table meets the rows before it: rows match when `attribute` of the joined
/// table equals `outer`, an expression over the tables before. The gateway reads the joined
/// table once into a hash on `attribute`, then evaluates the whole ON clause on each pair.
public struct SQLJoinKey: Sendable, Equatable {
    public let attribute: String
    public let outer: SQLExpression

    public init(attribute: String, outer: SQLExpression) {
        self.attribute = attribute
        self.outer = outer
    }

    /// The equality among the ON clause's AND terms between a column of the joined table and
    /// an expression of the earlier tables only.
    public init(_ join: SQLJoin) throws(SkeinError) {
        let table = join.table
        func isJoined(_ q: String) -> Bool { q == table.binding || q == table.table }
        let sides = SQLPlanner.conjuncts(join.on).flatMap { term -> [(SQLExpression, SQLExpression)] in
            guard case .binary(.equal, let l, let r) = term else { return [] }
            return [(l, r), (r, l)]
        }
        for (column, other) in sides {
            guard case .column(let q?, let name) = column, isJoined(q), !other.qualifiers.isEmpty,
                  !other.qualifiers.contains(where: isJoined) else { continue }
            attribute = name
            outer = other
            return
        }
        throw SkeinError.badRequest("SQL: JOIN \(table.database).\(table.table) ON needs an equality between a qualified column of that table and one of the tables before it (e.g. ON d.owner_id = o.id)")
    }

    /// The hash key of a join value: `1` and `'1'` meet (as `=` has them equal); null meets nothing.
    public static func hashKey(_ v: JSON) -> JSON? {
        switch v {
        case .null: nil
        case .number: .string(v.text)
        default: v
        }
    }
}
