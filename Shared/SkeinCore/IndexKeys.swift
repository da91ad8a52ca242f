/// Secondary-index keys: `KeyCodec.encode` of a value, cut to `maxBytes` (a search looks up
/// the same prefix and checks each candidate's full value).
public enum IndexKeys {
    /// The keys of one attribute's value: a scalar gives one (null too), an array one per
    /// string, number or boolean element, an object none.
    public static func of(_ value: JSON, maxBytes: Int) -> [[UInt8]] {
        switch value {
        case .object: return []
        case .array(let items):
            return items.compactMap { $0.isKeyScalar || $0.boolValue != nil ? KeyCodec.encode($0).map { cut($0, maxBytes) } : nil }
        default: return KeyCodec.encode(value).map { [cut($0, maxBytes)] } ?? []
        }
    }

    public static func cut(_ encoded: [UInt8], _ maxBytes: Int) -> [UInt8] {
        encoded.count > maxBytes ? Array(encoded.prefix(maxBytes)) : encoded
    }

    /// `of` for each top-level field of a record's JSON that `wanted` accepts, read straight
    /// from the bytes: a string without escapes is copied from them (never made a `String`),
    /// a number is read once; other fields are skipped unread. The same keys as `of` on
    /// the parsed record (a test holds the two together), at a fraction of the work: the
    /// index worker reads every indexed attribute of every record written.
    public static func forEachField(inRecord bytes: [UInt8], maxBytes: Int, where wanted: (String) -> Bool,
                                    _ body: (String, [UInt8]) throws -> Void) throws {
        var members = try ObjectMembers(bytes)
        while let name = try members.next() {
            guard wanted(name) else {
                try members.p.skipValue()
                continue
            }
            switch members.p.bytes[members.p.index] {
            case UInt8(ascii: "\""):
                try body(name, try plainStringKey(&members.p, maxBytes) ?? cut(KeyCodec.encode(.string(try members.p.parseString()))!, maxBytes))
            case UInt8(ascii: "{"):
                try members.p.skipContainer()
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                try body(name, cut(KeyCodec.encode(.number(try members.p.parseNumber()))!, maxBytes))
            default:
                for key in of(try members.p.parseValue(), maxBytes: maxBytes) { try body(name, key) }
            }
        }
    }

    /// The key of the string at the parser (its opening quote) when it has no escapes: the
    /// string tag and its first bytes as written. nil, the parser unmoved, otherwise.
    private static func plainStringKey(_ p: inout JSONParser, _ maxBytes: Int) throws -> [UInt8]? {
        let bytes = p.bytes
        let start = p.index + 1
        var end = start
        while end < bytes.count {
            let b = bytes[end]
            if b == UInt8(ascii: "\"") { break }
            if b == UInt8(ascii: "\\") || b < 0x20 { return nil }
            end += 1
        }
        guard end < bytes.count else { return nil }
        var key = [UInt8]()
        let length = min(end - start, min(KeyCodec.maxKeyBytes, maxBytes - 1))
        key.reserveCapacity(length + 1)
        key.append(KeyCodec.tagString)
        key.append(contentsOf: bytes[start..<(start + length)])
        p.index = end + 1
        return key
    }
}
