/// One token of a REST query string, with the character position it starts at (for error
/// messages that point at the problem).
public struct RESTQueryToken: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A name or value, still percent-encoded.
        case word(String)
        /// `&`, `|`, `(`, `)`, `,`, `=`, `==`, `!=`, `<`, `<=`, `>`, `>=`.
        case symbol(String)
        case end
    }

    public let kind: Kind
    public let position: Int

    /// How the token reads in an error message.
    public var described: String {
        switch kind {
        case .word(let w): return "'\(w)'"
        case .symbol(let s): return "'\(s)'"
        case .end: return "end of query"
        }
    }
}

/// Splits a query string into tokens. Every character outside a word is punctuation of the
/// query language; a value that holds one must percent-encode it.
public enum RESTQueryLexer {
    static let single: Set<Character> = ["&", "|", "(", ")", ","]
    static let comparison: Set<Character> = ["=", "!", "<", ">"]

    public static func tokens(_ query: String) throws(SkeinError) -> [RESTQueryToken] {
        let chars = Array(query)
        var out: [RESTQueryToken] = []
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if single.contains(c) {
                out.append(.init(kind: .symbol(String(c)), position: i))
                i += 1
            } else if comparison.contains(c) {
                // `=`, `==`, `!=`, `<`, `<=`, `>`, `>=`: one character, or two ending in `=`.
                let two = i + 1 < chars.count && chars[i + 1] == "="
                let symbol = two ? String([c, "="]) : String(c)
                if symbol == "!" { throw RESTQueryParser.error("'!' must be followed by '='", at: i, in: query) }
                out.append(.init(kind: .symbol(symbol), position: i))
                i += two ? 2 : 1
            } else {
                let start = i
                while i < chars.count, !single.contains(chars[i]), !comparison.contains(chars[i]) { i += 1 }
                out.append(.init(kind: .word(String(chars[start..<i])), position: start))
            }
        }
        out.append(.init(kind: .end, position: chars.count))
        return out
    }

    /// `%XX` sequences decoded as UTF-8 (a `+` stays a `+`, as in Harper); nil when malformed.
    public static func percentDecoded(_ text: String) -> String? {
        guard text.contains("%") else { return text }
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let b = utf8.popFirst() {
            guard b == UInt8(ascii: "%") else { bytes.append(b); continue }
            guard utf8.count >= 2, let hi = hexValue(utf8.removeFirst()), let lo = hexValue(utf8.removeFirst()) else { return nil }
            bytes.append(hi << 4 | lo)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
