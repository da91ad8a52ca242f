/// Splits a SQL statement into tokens. Positions count Unicode scalars from 1, so an error
/// names the place a reader finds by counting characters.
public enum SQLTokenizer {
    static let twoCharacterSymbols: Set<String> = ["!=", "<>", "<=", ">="]
    static let oneCharacterSymbols: Set<Character> = ["(", ")", ",", ".", "*", "=", "<", ">", "+", "-", "/", "%", ";"]

    public static func tokenize(_ sql: String) throws(SkeinError) -> [SQLToken] {
        let chars = Array(sql.unicodeScalars)
        var tokens: [SQLToken] = []
        var i = 0
        func peek(_ offset: Int = 0) -> Unicode.Scalar? { i + offset < chars.count ? chars[i + offset] : nil }
        func text(_ from: Int) -> String { String(String.UnicodeScalarView(chars[from..<i])) }

        while let c = peek() {
            let start = i
            if c.properties.isWhitespace {
                i += 1
            } else if c == "-", peek(1) == "-" {
                while let n = peek(), n != "\n" { i += 1 }
            } else if c == "/", peek(1) == "*" {
                i += 2
                while i < chars.count, !(chars[i] == "*" && peek(1) == "/") { i += 1 }
                guard i < chars.count else { throw SQLParser.error(at: start + 1, "unterminated comment") }
                i += 2
            } else if isIdentifierStart(c) {
                while let n = peek(), isIdentifierPart(n) { i += 1 }
                let word = text(start)
                let kind: SQLToken.Kind = SQLKeyword.named(word).map { .keyword($0) } ?? .identifier(word)
                tokens.append(SQLToken(kind, position: start + 1, text: word))
            } else if isDigit(c) || (c == "." && peek(1).map(isDigit) == true) {
                tokens.append(try number(chars, &i))
            } else if c == "'" || c == "\"" || c == "`" || c == "[" {
                let close: Unicode.Scalar = c == "[" ? "]" : c
                i += 1
                var value = String.UnicodeScalarView()
                while true {
                    guard let n = peek() else {
                        let what = c == "'" || c == "\"" ? "string" : "quoted name"
                        throw SQLParser.error(at: start + 1, "unterminated \(what) starting \(String(c))")
                    }
                    i += 1
                    if n == close {
                        // A doubled closing quote stands for itself.
                        guard close != "]", peek() == close else { break }
                        i += 1
                    }
                    value.append(n)
                }
                let s = String(value)
                let kind: SQLToken.Kind = c == "'" || c == "\"" ? .string(s) : .quotedIdentifier(s)
                tokens.append(SQLToken(kind, position: start + 1, text: text(start)))
            } else if let next = peek(1), twoCharacterSymbols.contains(String(c) + String(next)) {
                i += 2
                tokens.append(SQLToken(.symbol(text(start)), position: start + 1, text: text(start)))
            } else if oneCharacterSymbols.contains(Character(c)) {
                i += 1
                tokens.append(SQLToken(.symbol(text(start)), position: start + 1, text: text(start)))
            } else {
                throw SQLParser.error(at: start + 1, "unexpected character '\(String(c))'")
            }
        }
        tokens.append(SQLToken(.end, position: chars.count + 1, text: ""))
        return tokens
    }

    /// Digits, an optional fraction and an optional exponent; a letter straight after is an error.
    static func number(_ chars: [Unicode.Scalar], _ i: inout Int) throws(SkeinError) -> SQLToken {
        let start = i
        func digits() { while i < chars.count, isDigit(chars[i]) { i += 1 } }
        digits()
        if i < chars.count, chars[i] == "." { i += 1; digits() }
        if i < chars.count, chars[i] == "e" || chars[i] == "E" {
            var j = i + 1
            if j < chars.count, chars[j] == "+" || chars[j] == "-" { j += 1 }
            if j < chars.count, isDigit(chars[j]) { i = j; digits() }
        }
        let text = String(String.UnicodeScalarView(chars[start..<i]))
        if i < chars.count, isIdentifierPart(chars[i]) {
            throw SQLParser.error(at: start + 1, "malformed number '\(text)\(String(chars[i]))'")
        }
        guard let value = Double(text) else { throw SQLParser.error(at: start + 1, "malformed number '\(text)'") }
        return SQLToken(.number(value), position: start + 1, text: text)
    }

    static func isDigit(_ c: Unicode.Scalar) -> Bool { ("0"..."9").contains(c) }
    static func isIdentifierStart(_ c: Unicode.Scalar) -> Bool { c == "_" || c == "$" || c.properties.isAlphabetic }
    static func isIdentifierPart(_ c: Unicode.Scalar) -> Bool { isIdentifierStart(c) || isDigit(c) }
}
