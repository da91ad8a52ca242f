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
        try forEachKey(inRecord: bytes, maxBytes: maxBytes, slot: { name -> String? in
            let text: String
            switch name {
            case .plain(let range): text = String(decoding: bytes[range], as: UTF8.self)
            case .escaped(let t): text = t
            }
            return wanted(text) ? text : nil
        }, body)
    }

    /// `forEachField` with each member named by `slot` (its name as bytes, no `String`
    /// made: see `AttributePositions`); nil skips the member. After `stopAfter` members
    /// taken the rest of the record is not read (a record's member names are unique: it
    /// was serialized from a dictionary).
    @_specialize(exported: true, where Slot == Int)
    public static func forEachKey<Slot>(inRecord bytes: [UInt8], maxBytes: Int, stopAfter: Int = .max, slot: (MemberName) throws -> Slot?,
                                        _ body: (Slot, [UInt8]) throws -> Void) throws {
        var members = try ObjectMembers(bytes)
        var taken = 0
        // Plain strings' and numbers' keys are made in one buffer, used again for the next
        // key once `body` let go of it (an array per key was a quarter of reading them).
        var key: [UInt8] = []
        key.reserveCapacity(min(maxBytes, KeyCodec.maxKeyBytes + 1))
        while taken < stopAfter, let name = try members.nextName() {
            guard let slot = try slot(name) else {
                try members.p.skipValue()
                continue
            }
            taken += 1
            switch members.p.bytes[members.p.index] {
            case UInt8(ascii: "\""):
                key.removeAll(keepingCapacity: true)
                if try plainStringKey(&members.p, maxBytes, into: &key) {
                    try body(slot, key)
                } else {
                    try body(slot, cut(KeyCodec.encode(.string(try members.p.parseString()))!, maxBytes))
                }
            case UInt8(ascii: "{"):
                try members.p.skipContainer()
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                key.removeAll(keepingCapacity: true)
                key.append(KeyCodec.tagNumber)
                KeyCodec.appendDouble(try members.p.parseNumber(), to: &key)
                if key.count > maxBytes { key.removeLast(key.count - maxBytes) }
                try body(slot, key)
            default:
                for key in of(try members.p.parseValue(), maxBytes: maxBytes) { try body(slot, key) }
            }
        }
    }

    /// Writes into `key` the key of the string at the parser (its opening quote) when its
    /// first bytes, those the key keeps, have no escapes: the string tag and those bytes as
    /// written (an escape further on cannot change them). False, the parser unmoved, otherwise.
    private static func plainStringKey(_ p: inout JSONParser, _ maxBytes: Int, into key: inout [UInt8]) throws -> Bool {
        let bytes = p.bytes
        let start = p.index + 1
        let limit = min(bytes.count, start + min(KeyCodec.maxKeyBytes, maxBytes - 1))
        var end = start
        while end < limit {
            let b = bytes[end]
            if b == UInt8(ascii: "\"") { break }
            if b == UInt8(ascii: "\\") || b < 0x20 { return false }
            end += 1
        }
        key.append(KeyCodec.tagString)
        key.append(contentsOf: bytes[start..<end])
        if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
            p.index = end + 1
        } else {
            try p.skipString()
        }
        return true
    }
}
