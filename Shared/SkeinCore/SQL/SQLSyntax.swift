/// The syntax tree the parser builds: what a statement says, nothing about how it runs.

public enum SQLStatement: Sendable, Equatable {
    case select(SQLSelect)
    case insert(SQLInsert)
    case update(SQLUpdate)
    case delete(SQLDelete)
}

/// `database.table [AS alias]`: Skein tables are always named with their database.
public struct SQLTableName: Sendable, Equatable {
    public var database: String
    public var table: String
    public var alias: String?

    public init(database: String, table: String, alias: String? = nil) {
        self.database = database
        self.table = table
        self.alias = alias
    }

    /// The name columns are qualified with: the alias, else the table's name.
    public var binding: String { alias ?? table }
}

public indirect enum SQLExpression: Sendable, Equatable {
    /// A number, string, boolean or null.
    case literal(JSON)
    case column(table: String?, name: String)
    /// `*` or `t.*`: in a select list, and as COUNT's argument.
    case star(table: String?)
    case not(SQLExpression)
    case negate(SQLExpression)
    case binary(SQLBinaryOperator, SQLExpression, SQLExpression)
    case isNull(SQLExpression, negated: Bool)
    case inList(SQLExpression, [SQLExpression], negated: Bool)
    case between(SQLExpression, low: SQLExpression, high: SQLExpression, negated: Bool)
    case like(SQLExpression, pattern: SQLExpression, negated: Bool)
    /// A function call; the name is upper case (`COUNT`, `SUM`, ...).
    case function(name: String, arguments: [SQLExpression], distinct: Bool)
}

public enum SQLBinaryOperator: String, Sendable, Equatable {
    case equal = "=", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
    case and = "AND", or = "OR"
    case add = "+", subtract = "-", multiply = "*", divide = "/", modulo = "%"

    var isComparison: Bool { [.equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual].contains(self) }
}

public struct SQLSelectItem: Sendable, Equatable {
    public var expression: SQLExpression
    public var alias: String?

    public init(_ expression: SQLExpression, alias: String? = nil) {
        self.expression = expression
        self.alias = alias
    }
}

public struct SQLOrderItem: Sendable, Equatable {
    public var expression: SQLExpression
    public var descending: Bool

    public init(_ expression: SQLExpression, descending: Bool = false) {
        self.expression = expression
        self.descending = descending
    }
}

/// `[INNER] JOIN table ON condition`, or `LEFT [OUTER] JOIN`: a row that meets no record
/// of the table is kept, the table's columns null.
public struct SQLJoin: Sendable, Equatable {
    public var table: SQLTableName
    public var on: SQLExpression
    public var left: Bool

    public init(table: SQLTableName, on: SQLExpression, left: Bool = false) {
        self.table = table
        self.on = on
        self.left = left
    }
}

public struct SQLSelect: Sendable, Equatable {
    public var items: [SQLSelectItem] = []
    public var distinct = false
    /// nil for `SELECT 2 + 2`.
    public var from: SQLTableName?
    public var joins: [SQLJoin] = []
    public var filter: SQLExpression?
    public var groupBy: [SQLExpression] = []
    public var orderBy: [SQLOrderItem] = []
    public var limit: Int?
    public var offset: Int?

    public init() {}

    /// Every table read, the first one first.
    public var tables: [SQLTableName] { (from.map { [$0] } ?? []) + joins.map(\.table) }
}

public struct SQLInsert: Sendable, Equatable {
    public var table: SQLTableName
    public var columns: [String]
    public var rows: [[SQLExpression]]
}

public struct SQLAssignment: Sendable, Equatable {
    public var column: String
    public var value: SQLExpression
}

public struct SQLUpdate: Sendable, Equatable {
    public var table: SQLTableName
    public var assignments: [SQLAssignment]
    public var filter: SQLExpression?
}

public struct SQLDelete: Sendable, Equatable {
    public var table: SQLTableName
    public var filter: SQLExpression?
}

extension SQLExpression {
    /// The expressions directly inside this one.
    public var children: [SQLExpression] {
        switch self {
        case .literal, .column, .star: []
        case .not(let x), .negate(let x), .isNull(let x, _): [x]
        case .binary(_, let l, let r): [l, r]
        case .inList(let x, let list, _): [x] + list
        case .between(let x, let low, let high, _): [x, low, high]
        case .like(let x, let pattern, _): [x, pattern]
        case .function(_, let args, _): args
        }
    }

    /// Every table qualifier named in it (`d` of `d.name`, `d.*`).
    public var qualifiers: [String] {
        switch self {
        case .column(let t?, _), .star(let t?): [t]
        default: children.flatMap(\.qualifiers)
        }
    }
}

extension SQLExpression: CustomStringConvertible {
    /// The expression as SQL text, as Harper names an unaliased result column: `2 + 2`,
    /// `COUNT(*)`, `AVG(r.rating)`.
    public var description: String {
        switch self {
        case .literal(let v):
            if case .string(let s) = v { return "'" + s.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "''") + "'" }
            return v.isNull ? "NULL" : v.text
        case .column(let table, let name): return table.map { "\($0).\(name)" } ?? name
        case .star(let table): return table.map { "\($0).*" } ?? "*"
        case .not(let e): return "NOT \(e)"
        case .negate(let e): return "-\(e)"
        case .binary(let op, let l, let r): return "\(l) \(op.rawValue) \(r)"
        case .isNull(let e, let negated): return "\(e) IS \(negated ? "NOT " : "")NULL"
        case .inList(let e, let list, let negated):
            return "\(e) \(negated ? "NOT " : "")IN (\(list.map(\.description).joined(separator: ", ")))"
        case .between(let e, let low, let high, let negated): return "\(e) \(negated ? "NOT " : "")BETWEEN \(low) AND \(high)"
        case .like(let e, let pattern, let negated): return "\(e) \(negated ? "NOT " : "")LIKE \(pattern)"
        case .function(let name, let args, let distinct):
            return "\(name)(\(distinct ? "DISTINCT " : "")\(args.map(\.description).joined(separator: ", ")))"
        }
    }
}
