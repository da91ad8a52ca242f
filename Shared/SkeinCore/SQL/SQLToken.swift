/// One lexical unit of a SQL statement, with where it starts (1-based character position)
/// so a parse error can point at it.
public struct SQLToken: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A bare word that is not a keyword: a database, table, column or function name.
        case identifier(String)
        /// A name in backticks or brackets: never a keyword, may hold any character.
        case quotedIdentifier(String)
        case keyword(SQLKeyword)
        case string(String)
        case number(Double)
        /// Punctuation and operators: `( ) , . * = != <> < <= > >= + - / % ;`.
        case symbol(String)
        case end
    }

    public let kind: Kind
    public let position: Int
    /// The token as written (for error messages).
    public let text: String

    public init(_ kind: Kind, position: Int, text: String) {
        self.kind = kind
        self.position = position
        self.text = text
    }

    /// The name this token gives when it stands where a name may: bare or quoted.
    public var name: String? {
        switch kind {
        case .identifier(let s), .quotedIdentifier(let s): s
        default: nil
        }
    }

    public func isKeyword(_ keyword: SQLKeyword) -> Bool { kind == .keyword(keyword) }
    public func isSymbol(_ symbol: String) -> Bool { kind == .symbol(symbol) }

    /// How an error message names it: `end of statement` or `'text'`.
    public var described: String { kind == .end ? "end of statement" : "'\(text)'" }
}

/// The words the parser gives a meaning to; matched without regard to case. Any other word
/// is an identifier (functions such as COUNT are identifiers followed by `(`).
public enum SQLKeyword: String, Sendable, CaseIterable {
    case select, distinct, from, `where`, and, or, not, `in`, like, between, `is`, null, `true`, `false`, `as`
    case order, by, asc, desc, limit, offset, group, having
    case join, inner, left, right, full, outer, cross, on
    case insert, into, values, update, set, delete
    case union, with, create, drop, alter

    public static func named(_ word: String) -> SQLKeyword? { SQLKeyword(rawValue: word.lowercased()) }
}
