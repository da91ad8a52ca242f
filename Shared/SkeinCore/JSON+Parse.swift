import Foundation

/// A JSON syntax error with the byte offset where it was found.
public struct JSONParseError: Error, CustomStringConvertible, Sendable {
    public let offset: Int
    public let reason: String
    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

extension JSON {
    /// Parses one JSON document; trailing non-space bytes are an error.
    public static func parse<Bytes: Collection>(_ bytes: Bytes) throws(JSONParseError) -> JSON where Bytes.Element == UInt8 {
        let array = Array(bytes)
        var parser = JSONParser(bytes: array)
        return try parser.parseDocument()
    }

    /// Parses only the top level of an object: scalars are kept, nested arrays and objects
    /// are checked for balance but come back empty (`[]`, `{}`), so their type is still
    /// known. For routers that look at a few fields of a large body and pass it on.
    public static func parseShallow<Bytes: Collection>(_ bytes: Bytes) throws(JSONParseError) -> JSON where Bytes.Element == UInt8 {
        var parser = JSONParser(bytes: Array(bytes))
        parser.buildDepth = 1
        return try parser.parseDocument()
    }

    /// Parses containers down to `depth` levels (1: the top-level one's scalars only);
    /// deeper arrays and objects are checked for balance and come back empty. For messages
    /// whose bulk (the records of a batch's entries) is passed on as bytes, not read.
    public static func parse(_ bytes: [UInt8], buildingDepth depth: Int) throws(JSONParseError) -> JSON {
        var parser = JSONParser(bytes: bytes)
        parser.buildDepth = depth
        return try parser.parseDocument()
    }

    public static func parse(_ text: String) throws(JSONParseError) -> JSON {
        try parse(Array(text.utf8))
    }
}

/// A recursive-descent parser over bytes. Depth is bounded so hostile input cannot
/// overflow the stack.
struct JSONParser {
    let bytes: [UInt8]
    var index = 0
    var depth = 0
    /// When set, containers nested this deep (1: below the top level) are skipped, not built.
    var buildDepth: Int? = nil
    static let maxDepth = 256

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func parseDocument() throws(JSONParseError) -> JSON {
        skipSpace()
        let value = try parseValue()
        skipSpace()
        if index != bytes.count { throw fail("unexpected trailing characters") }
        return value
    }

    func fail(_ reason: String) -> JSONParseError { JSONParseError(offset: index, reason: reason) }

    mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func parseValue() throws(JSONParseError) -> JSON {
        guard index < bytes.count else { throw fail("unexpected end of input") }
        if let buildDepth, depth >= buildDepth {
            switch bytes[index] {
            case UInt8(ascii: "{"): try skipContainer(); return .object([:])
            case UInt8(ascii: "["): try skipContainer(); return .array([])
            default: break
            }
        }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectWord("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectWord("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectWord("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw fail("unexpected character '\(Character(Unicode.Scalar(bytes[index])))'")
        }
    }

    /// Skips a nested array or object, tracking strings so brackets inside them don't count.
    mutating func skipContainer() throws(JSONParseError) {
        var level = 0
        while index < bytes.count {
            let b = bytes[index]
            switch b {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                level += 1
                if level > Self.maxDepth { throw fail("nesting deeper than \(Self.maxDepth)") }
                index += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                level -= 1
                index += 1
                if level == 0 { return }
            case UInt8(ascii: "\""):
                try skipString()
            default:
                index += 1
            }
        }
        throw fail("unexpected end of input")
    }

    /// Skips one value of any kind without building it.
    mutating func skipValue() throws(JSONParseError) {
        guard index < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            try skipContainer()
        case UInt8(ascii: "\""):
            try skipString()
        case UInt8(ascii: "t"): try expectWord("true")
        case UInt8(ascii: "f"): try expectWord("false")
        case UInt8(ascii: "n"): try expectWord("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try skipNumber()
        default: throw fail("unexpected character '\(Character(Unicode.Scalar(bytes[index])))'")
        }
    }

    /// Checks a number's grammar and steps over it without making a `Double` (the same
    /// numbers `parseNumber` accepts, but for range: a skipped value is never used).
    mutating func skipNumber() throws(JSONParseError) {
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        func digits(_ p: inout JSONParser) -> Int {
            let s = p.index
            while p.index < p.bytes.count, p.bytes[p.index] >= 0x30, p.bytes[p.index] <= 0x39 { p.index += 1 }
            return p.index - s
        }
        let intStart = index
        let intDigits = digits(&self)
        if intDigits == 0 { throw fail("invalid number") }
        if intDigits > 1 && bytes[intStart] == UInt8(ascii: "0") { throw JSONParseError(offset: intStart, reason: "leading zeros are not allowed") }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            if digits(&self) == 0 { throw fail("invalid number") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            if digits(&self) == 0 { throw fail("invalid number") }
        }
    }

    /// Skips a string (at its opening quote) without decoding it: `memchr` to each quote,
    /// which ends the string unless an odd run of backslashes escapes it.
    mutating func skipString() throws(JSONParseError) {
        let start = index + 1
        let end: Int? = bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return nil }
            var from = start
            while from < buffer.count, let found = memchr(base + from, Int32(UInt8(ascii: "\"")), buffer.count - from) {
                let quote = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
                var slashes = 0
                while quote - slashes - 1 >= start, base[quote - slashes - 1] == UInt8(ascii: "\\") { slashes += 1 }
                if slashes % 2 == 0 { return quote }
                from = quote + 1
            }
            return nil
        }
        guard let end else {
            index = bytes.count
            throw fail("unterminated string")
        }
        index = end + 1
    }

    mutating func expectWord(_ word: StaticString) throws(JSONParseError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw fail("unexpected end of input") }
        let base = word.utf8Start
        for i in 0..<count where bytes[index + i] != base[i] { throw fail("invalid literal") }
        index += count
    }

    mutating func enter() throws(JSONParseError) {
        depth += 1
        if depth > Self.maxDepth { throw fail("nesting deeper than \(Self.maxDepth)") }
    }

    mutating func parseObject() throws(JSONParseError) -> JSON {
        // Members first, then the dictionary at its final size: growing it member by
        // member rehashed every key at each doubling (a record has ~10).
        var members: [(String, JSON)] = []
        try forEachMember { (p, key) throws(JSONParseError) in members.append((key, try p.parseValue())) }
        var object = [String: JSON](minimumCapacity: members.count)
        for (key, value) in members { object[key] = value }  // a repeated key: the last wins
        return .object(object)
    }

    mutating func parseArray() throws(JSONParseError) -> JSON {
        var array: [JSON] = []
        try forEachElement { (p) throws(JSONParseError) in array.append(try p.parseValue()) }
        return .array(array)
    }

    /// Walks the object at `index`, handing each member's key to `body` with the parser at
    /// the member's value, which `body` must consume.
    @inline(__always)
    mutating func forEachMember(_ body: (inout JSONParser, String) throws(JSONParseError) -> Void) throws(JSONParseError) {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { throw fail("expected an object") }
        try enter()
        defer { depth -= 1 }
        index += 1
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return }
        while true {
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
            let key = try parseString()
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            index += 1
            skipSpace()
            guard index < bytes.count else { throw fail("unexpected end of input") }
            try body(&self, key)
            skipSpace()
            guard index < bytes.count else { throw fail("unexpected end of input") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") { index += 1; return }
            throw fail("expected ',' or '}'")
        }
    }

    /// Walks the array at `index`, calling `body` with the parser at each element, which
    /// `body` must consume.
    @inline(__always)
    mutating func forEachElement(_ body: (inout JSONParser) throws(JSONParseError) -> Void) throws(JSONParseError) {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "[") else { throw fail("expected an array") }
        try enter()
        defer { depth -= 1 }
        index += 1
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return }
        while true {
            skipSpace()
            guard index < bytes.count else { throw fail("unexpected end of input") }
            try body(&self)
            skipSpace()
            guard index < bytes.count else { throw fail("unexpected end of input") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "]") { index += 1; return }
            throw fail("expected ',' or ']'")
        }
    }

    mutating func parseNumber() throws(JSONParseError) -> Double {
        let start = index
        // An integer of up to 15 digits (ids, counts, timestamps: most numbers) in one pass
        // over the bytes; anything else is checked and read below.
        let integer: (value: Double, end: Int)? = bytes.withUnsafeBufferPointer { b in
            var i = start
            let negative = b[i] == UInt8(ascii: "-")
            if negative { i += 1 }
            let first = i
            var value = 0
            while i < b.count, i - first < 16 {
                let digit = b[i] &- 0x30
                if digit > 9 { break }
                value = value &* 10 &+ Int(digit)
                i += 1
            }
            let count = i - first
            guard count > 0, count <= 15, count == 1 || b[first] != UInt8(ascii: "0") else { return nil }
            if i < b.count, b[i] == UInt8(ascii: ".") || b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") || b[i] &- 0x30 <= 9 {
                return nil
            }
            return (negative ? -Double(value) : Double(value), i)
        }
        if let integer {
            index = integer.end
            return integer.value
        }
        try skipNumber()
        let intStart = bytes[start] == UInt8(ascii: "-") ? start + 1 : start
        // Integers of up to 15 digits (most numbers) are exact as a Double: no text, no strtod.
        if index - intStart <= 16, let value = Self.shortDecimal(bytes[intStart..<index]) {
            return start == intStart ? value : -value
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        guard let value = Double(text), value.isFinite else { throw JSONParseError(offset: start, reason: "number out of range") }
        return value
    }

    /// The value of digits with at most one '.' and at most 15 digits in all (most numbers
    /// records hold: ids, counts, prices, timestamps); nil for anything else (an exponent).
    /// Exact: the digits make an integer below 2^53 and a power of ten up to 10^15 is a
    /// Double, so their quotient is the correctly rounded value, as strtod gives it.
    static func shortDecimal(_ digits: ArraySlice<UInt8>) -> Double? {
        var value = 0, count = 0, fraction = -1
        for b in digits {
            if b == UInt8(ascii: ".") {
                guard fraction < 0 else { return nil }
                fraction = 0
                continue
            }
            guard b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") else { return nil }
            value = value &* 10 &+ Int(b &- 0x30)
            count += 1
            if fraction >= 0 { fraction += 1 }
        }
        guard count <= 15 else { return nil }
        return fraction > 0 ? Double(value) / powersOfTen[fraction] : Double(value)
    }

    static let powersOfTen: [Double] = (0...15).map { (0..<$0).reduce(1.0) { r, _ in r * 10 } }

    mutating func parseString() throws(JSONParseError) -> String {
        index += 1
        let start = index
        // The raw (unescaped) bytes OR-ed: 0x80 or more when one is not ASCII.
        var high: UInt8 = 0
        // Fast path: no escapes.
        while index < bytes.count {
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                let s = try utf8Text(bytes[start..<index], check: high >= 0x80)
                index += 1
                return s
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { throw fail("control character in string") }
            high |= b
            index += 1
        }
        var out = Array(bytes[start..<index])
        while index < bytes.count {
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                let s = try utf8Text(out[...], check: high >= 0x80)
                index += 1
                return s
            }
            if b < 0x20 { throw fail("control character in string") }
            if b != UInt8(ascii: "\\") { out.append(b); high |= b; index += 1; continue }
            index += 1
            guard index < bytes.count else { break }
            let e = bytes[index]
            index += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try parseHex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                        throw fail("unpaired surrogate")
                    }
                    index += 2
                    let low = try parseHex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw fail("invalid surrogate pair") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(scalar) {
                    throw fail("unpaired surrogate")
                }
                guard let u = Unicode.Scalar(scalar) else { throw fail("invalid unicode escape") }
                out.append(contentsOf: Array(String(Character(u)).utf8))
            default: throw fail("invalid escape")
            }
        }
        throw fail("unterminated string")
    }

    /// A string's bytes as text. Bytes that are not UTF-8 are an error (RFC 8259 §8.1), not
    /// replaced with U+FFFD: a client's text is taken as sent or refused, never altered.
    /// `check`: a raw byte was above 0x7F; ASCII and escapes always give UTF-8 and skip the (slower) check.
    func utf8Text(_ utf8: ArraySlice<UInt8>, check: Bool) throws(JSONParseError) -> String {
        guard check else { return String(decoding: utf8, as: UTF8.self) }
        guard let s = String(validating: utf8, as: UTF8.self) else { throw fail("invalid UTF-8 in string") }
        return s
    }

    mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw fail("invalid unicode escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[index]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw fail("invalid unicode escape")
            }
            v = v << 4 | d
            index += 1
        }
        return v
    }
}

extension JSON {
    /// Where the value of `key` lies in the top-level object `bytes` (its byte range), without
    /// building anything: nested values are skipped. Nil when `bytes` is not an object or
    /// has no such key. For passing a large part of a message on as it came (the entries of
    /// a replication batch) while only its small fields are parsed.
    public static func topLevelValueRange(of key: String, in bytes: [UInt8]) -> Range<Int>? {
        var p = JSONParser(bytes: bytes)
        p.skipSpace()
        guard p.index < bytes.count, bytes[p.index] == UInt8(ascii: "{") else { return nil }
        p.index += 1
        do {
            while true {
                p.skipSpace()
                guard p.index < bytes.count, bytes[p.index] == UInt8(ascii: "\"") else { return nil }
                let name = try p.parseString()
                p.skipSpace()
                guard p.index < bytes.count, bytes[p.index] == UInt8(ascii: ":") else { return nil }
                p.index += 1
                p.skipSpace()
                guard p.index < bytes.count else { return nil }
                let start = p.index
                if bytes[start] == UInt8(ascii: "{") || bytes[start] == UInt8(ascii: "[") {
                    try p.skipContainer()
                } else {
                    _ = try p.parseValue()
                }
                if name == key { return start..<p.index }
                p.skipSpace()
                guard p.index < bytes.count, bytes[p.index] == UInt8(ascii: ",") else { return nil }
                p.index += 1
            }
        } catch {
            return nil
        }
    }

    /// The byte ranges of the elements of the array at `range` in `bytes`, without building
    /// them; nil when it is not an array.
    public static func elementRanges(ofArrayAt range: Range<Int>, in bytes: [UInt8]) -> [Range<Int>]? {
        var p = JSONParser(bytes: bytes)
        p.index = range.lowerBound
        p.skipSpace()
        guard p.index < range.upperBound, bytes[p.index] == UInt8(ascii: "[") else { return nil }
        p.index += 1
        var out: [Range<Int>] = []
        p.skipSpace()
        if p.index < range.upperBound, bytes[p.index] == UInt8(ascii: "]") { return out }
        do {
            while p.index < range.upperBound {
                p.skipSpace()
                let start = p.index
                try p.skipValue()
                out.append(start..<p.index)
                p.skipSpace()
                guard p.index < range.upperBound else { return nil }
                if bytes[p.index] == UInt8(ascii: "]") { return out }
                guard bytes[p.index] == UInt8(ascii: ",") else { return nil }
                p.index += 1
            }
        } catch {
            return nil
        }
        return nil
    }

    /// `{"KEY":RAW,` followed by the fields of `rest` (an object): a message whose large
    /// part is spliced in as bytes, never parsed or serialized again.
    public static func object(splicing raw: ArraySlice<UInt8>, as key: String, with rest: JSON) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(raw.count + 256)
        JSON.writeString(key, into: &out)
        out.append(UInt8(ascii: ":"))
        out.append(contentsOf: raw)
        let tail = rest.serialized()
        if tail.count > 2 { out.append(UInt8(ascii: ",")) }
        out.append(contentsOf: tail.dropFirst())
        return out
    }
}

extension JSON {
    /// Calls `body` with the name and value of each top-level field of the object `bytes`,
    /// in the order they are written, without building the object: nested objects come
    /// back empty (`{}`), arrays whole. For reading a stored record's scalars (its index
    /// keys) where a dictionary of every field would be waste.
    public static func forEachField(in bytes: [UInt8], _ body: (String, JSON) throws -> Void) throws {
        try forEachField(in: bytes, where: { _ in true }, body)
    }

    /// Each top-level member name of an object, as `ObjectMembers.nextName` reads it; the
    /// values are checked and skipped, never built.
    public static func forEachMemberName(in bytes: [UInt8], _ body: (MemberName) throws -> Void) throws {
        var members = try ObjectMembers(bytes)
        while let name = try members.nextName() {
            try body(name)
            try members.p.skipValue()
        }
    }

    /// `forEachField` for the fields `wanted` accepts; the others' values are skipped
    /// unread (a record's unindexed text is never made a `String`).
    public static func forEachField(in bytes: [UInt8], where wanted: (String) -> Bool, _ body: (String, JSON) throws -> Void) throws {
        var members = try ObjectMembers(bytes)
        while let name = try members.next() {
            if !wanted(name) {
                try members.p.skipValue()
            } else if members.p.bytes[members.p.index] == UInt8(ascii: "{") {
                try members.p.skipContainer()
                try body(name, .object([:]))
            } else {
                try body(name, try members.p.parseValue())
            }
        }
    }
}

/// A member's name as `ObjectMembers.nextName` reads it: the range of its bytes, or the
/// decoded text of a name with escapes.
public enum MemberName {
    case plain(Range<Int>)
    case escaped(String)
}

/// The members of a JSON object's top level, one at a time: `next` gives a member's name
/// with `p` at its value, which the caller consumes (parses or skips) before the next.
struct ObjectMembers {
    var p: JSONParser
    private var started = false

    init(_ bytes: [UInt8]) throws(JSONParseError) {
        p = JSONParser(bytes: bytes)
        p.skipSpace()
        guard p.index < bytes.count, bytes[p.index] == UInt8(ascii: "{") else { throw p.fail("expected an object") }
        p.index += 1
    }

    /// The next member's name; nil after the last.
    mutating func next() throws(JSONParseError) -> String? {
        guard let name = try nextName() else { return nil }
        switch name {
        case .plain(let range): return try p.utf8Text(p.bytes[range], check: p.bytes[range].contains { $0 >= 0x80 })
        case .escaped(let text): return text
        }
    }

    /// The next member's name as its bytes when it has no escapes (no `String` made: a
    /// record's names are mostly looked up, `AttributePositions`); nil after the last.
    mutating func nextName() throws(JSONParseError) -> MemberName? {
        p.skipSpace()
        guard p.index < p.bytes.count else { throw p.fail("unexpected end of input") }
        if p.bytes[p.index] == UInt8(ascii: "}") { return nil }
        if started {
            guard p.bytes[p.index] == UInt8(ascii: ",") else { throw p.fail("expected ',' or '}'") }
            p.index += 1
            p.skipSpace()
        }
        started = true
        guard p.index < p.bytes.count, p.bytes[p.index] == UInt8(ascii: "\"") else { throw p.fail("expected a string key") }
        let start = p.index + 1
        var end = start
        while end < p.bytes.count, p.bytes[end] != UInt8(ascii: "\""), p.bytes[end] != UInt8(ascii: "\\"), p.bytes[end] >= 0x20 { end += 1 }
        let name: MemberName
        if end < p.bytes.count, p.bytes[end] == UInt8(ascii: "\"") {
            name = .plain(start..<end)
            p.index = end + 1
        } else {
            name = .escaped(try p.parseString())
        }
        p.skipSpace()
        guard p.index < p.bytes.count, p.bytes[p.index] == UInt8(ascii: ":") else { throw p.fail("expected ':'") }
        p.index += 1
        p.skipSpace()
        guard p.index < p.bytes.count else { throw p.fail("unexpected end of input") }
        return name
    }
}
