/// One record of a write, read from the bytes it came in without building a JSON tree:
/// its member names in key order, each once, and each member's value already as
/// `JSON.serialized` writes it. Why: parsing a client's records into dictionaries and
/// serializing them again was a fifth of the store's work on an insert; this reads each
/// value once and copies most of them as they are (strings without escapes, short
/// integers, literals), so the record stored is byte for byte what the tree gave.
public struct RecordMembers: Sendable {
    /// The member names, sorted as `JSON.writeObject` sorts keys; a repeated name was
    /// kept once, with its last value (as a dictionary keeps it).
    public private(set) var names: [String]
    /// Where each member's value is in `values`.
    private var spans: [Range<Int>]
    /// The members' serialized values, back to back.
    private var values: [UInt8]

    /// The record of a tree (records a store makes itself, CSV rows).
    public init(fields: [String: JSON]) {
        names = []
        spans = []
        values = []
        names.reserveCapacity(fields.count)
        spans.reserveCapacity(fields.count)
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
            let start = values.count
            value.write(into: &values)
            names.append(name)
            spans.append(start..<values.count)
        }
    }

    /// Reads the object at the parser, leaving it after the object.
    init(_ p: inout JSONParser) throws(JSONParseError) {
        var names: [String] = [], spans: [Range<Int>] = [], values: [UInt8] = []
        names.reserveCapacity(16)
        spans.reserveCapacity(16)
        values.reserveCapacity(512)
        try p.forEachMember { (p, name) throws(JSONParseError) in
            let start = values.count
            try Self.writeValue(&p, into: &values)
            names.append(name)
            spans.append(start..<values.count)
        }
        self.names = names
        self.spans = spans
        self.values = values
        sortNames()
    }

    public var count: Int { names.count }

    /// The serialized value of member `name`.
    public func value(of name: String) -> ArraySlice<UInt8>? {
        guard let i = names.firstIndex(of: name) else { return nil }
        return values[spans[i]]
    }

    /// The value of member `name` as a tree.
    public func json(of name: String) -> JSON? {
        value(of: name).flatMap { try? JSON.parse($0) }
    }

    /// The record as a tree (for a write that merges it into a stored record).
    public var fields: [String: JSON] {
        var out = [String: JSON](minimumCapacity: names.count)
        for (name, span) in zip(names, spans) { out[name] = try? JSON.parse(values[span]) }
        return out
    }

    /// The record without the members named `removed`.
    public func removing(_ removed: Set<String>) -> RecordMembers {
        var copy = self
        let kept = names.indices.filter { !removed.contains(names[$0]) }
        copy.names = kept.map { names[$0] }
        copy.spans = kept.map { spans[$0] }
        return copy
    }

    /// The record serialized with `overriding` (sorted by key, each key once) in the place
    /// of its members of the same names: what `JSON.writeObject` writes for the tree.
    public func serialized(overriding: [(key: String, value: JSON)]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(values.count + names.reduce(0) { $0 + $1.utf8.count + 4 } + overriding.count * 40 + 2)
        out.append(UInt8(ascii: "{"))
        var i = 0, o = 0
        var first = true
        func separate() {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
        }
        while i < names.count || o < overriding.count {
            if o < overriding.count, i == names.count || overriding[o].key <= names[i] {
                if i < names.count, overriding[o].key == names[i] { i += 1 }
                separate()
                JSON.writeString(overriding[o].key, into: &out)
                out.append(UInt8(ascii: ":"))
                overriding[o].value.write(into: &out)
                o += 1
            } else {
                separate()
                JSON.writeString(names[i], into: &out)
                out.append(UInt8(ascii: ":"))
                out.append(contentsOf: values[spans[i]])
                i += 1
            }
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// Names in key order, the last of a repeated name kept (records mostly come sorted).
    private mutating func sortNames() {
        var sorted = true
        for i in names.indices.dropFirst() where !(names[i - 1] < names[i]) {
            sorted = false
            break
        }
        guard !sorted else { return }
        // Stable: equal names stay in the order they came, so the last is the one to keep.
        let order = names.indices.sorted { a, b in names[a] < names[b] || (names[a] == names[b] && a < b) }
        var keptNames: [String] = [], keptSpans: [Range<Int>] = []
        for (n, i) in order.enumerated() {
            if n + 1 < order.count, names[order[n + 1]] == names[i] { continue }
            keptNames.append(names[i])
            keptSpans.append(spans[i])
        }
        names = keptNames
        spans = keptSpans
    }

    /// The value at the parser as `JSON.write` would write it, copied where it already is
    /// in that form.
    static func writeValue(_ p: inout JSONParser, into out: inout [UInt8]) throws(JSONParseError) {
        let bytes = p.bytes
        guard p.index < bytes.count else { throw p.fail("unexpected end of input") }
        let start = p.index
        switch bytes[start] {
        case UInt8(ascii: "\""):
            // Without escapes and valid UTF-8, a string is written as it came.
            let (end, high) = bytes.withUnsafeBufferPointer { JSON.plainRun($0, from: start + 1) }
            if end < bytes.count, bytes[end] == UInt8(ascii: "\""),
               high < 0x80 || String(validating: bytes[(start + 1)..<end], as: UTF8.self) != nil {
                out.append(contentsOf: bytes[start...end])
                p.index = end + 1
            } else {
                JSON.writeString(try p.parseString(), into: &out)
            }
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try p.skipNumber()
            let digits = bytes[start] == UInt8(ascii: "-") ? start + 1 : start
            // An integer below 10^15 (not -0) is written as its digits: as it came.
            if p.index - digits <= 15, bytes[digits..<p.index].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
               !(digits > start && bytes[digits] == UInt8(ascii: "0")) {
                out.append(contentsOf: bytes[start..<p.index])
            } else {
                p.index = start
                JSON.writeNumber(try p.parseNumber(), into: &out)
            }
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            try p.skipValue()
            out.append(contentsOf: bytes[start..<p.index])
        default:
            try p.parseValue().write(into: &out)
        }
    }
}
