extension JSON {
    /// Compact UTF-8 serialization. Object keys are sorted so equal values print equally.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        write(into: &out)
        return out
    }

    public var text: String { String(decoding: serialized(), as: UTF8.self) }

    public func write(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let d): JSON.writeNumber(d, into: &out)
        case .string(let s): JSON.writeString(s, into: &out)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                v.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            JSON.writeObject(o, into: &out)
        }
    }

    /// An object's members in key order. Sorted as pairs: sorting the keys and looking each
    /// up again hashed every key.
    static func writeObject(_ o: [String: JSON], into out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        for (i, member) in o.sorted(by: { $0.key < $1.key }).enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            JSON.writeString(member.key, into: &out)
            out.append(UInt8(ascii: ":"))
            member.value.write(into: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    static func writeNumber(_ d: Double, into out: inout [UInt8]) {
        if d.rounded() == d, abs(d) < 1e15 {
            writeInteger(Int64(d), into: &out)
        } else if d.isFinite {
            out.append(contentsOf: d.description.utf8)
        } else {
            out.append(contentsOf: "null".utf8)
        }
    }

    /// An integer's decimal digits, written straight into `out` (no `String` made).
    public static func writeInteger(_ n: Int64, into out: inout [UInt8]) {
        if n < 0 { out.append(UInt8(ascii: "-")) }
        var m = n.magnitude
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var i = digits.count
            repeat {
                i -= 1
                digits[i] = UInt8(ascii: "0") + UInt8(m % 10)
                m /= 10
            } while m > 0
            out.append(contentsOf: UnsafeBufferPointer(rebasing: digits[i...]))
        }
    }

    static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Where the bytes from `from` stop being plain string text (at a quote, a backslash or
    /// a control character, or the end), and those bytes OR-ed (0x80 or more: not ASCII).
    /// 16 bytes at a time: long texts were most of serializing a record, and of reading one.
    static func plainRun(_ buf: UnsafeBufferPointer<UInt8>, from: Int = 0) -> (end: Int, high: UInt8) {
        var i = from
        var high: UInt8 = 0
        if let base = buf.baseAddress {
            let raw = UnsafeRawPointer(base)
            let space = SIMD16<UInt8>(repeating: 0x20), quote = SIMD16<UInt8>(repeating: 0x22), backslash = SIMD16<UInt8>(repeating: 0x5C)
            var seen = SIMD16<UInt8>(repeating: 0)
            while i + 16 <= buf.count {
                let v = raw.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self)
                if any((v .< space) .| (v .== quote) .| (v .== backslash)) { break }
                seen |= v
                i += 16
            }
            high = seen.max()
        }
        while i < buf.count {
            let b = buf[i]
            if b < 0x20 || b == 0x22 || b == 0x5C { break }
            high |= b
            i += 1
        }
        return (i, high)
    }

    public static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(0x22)
        // Most strings need no escaping: copy them in one go (a native string's bytes are
        // read in place; a bridged one's are copied once).
        let clean = s.utf8.withContiguousStorageIfAvailable { buf -> Bool in
            guard plainRun(buf).end == buf.count else { return false }
            out.append(contentsOf: buf)
            return true
        }
        if clean == true {
            out.append(0x22)
            return
        }
        for b in s.utf8 {
            switch b {
            case 0x22: out.append(0x5C); out.append(0x22)
            case 0x5C: out.append(0x5C); out.append(0x5C)
            case 0x0A: out.append(0x5C); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(0x5C); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(0x5C); out.append(UInt8(ascii: "t"))
            case 0..<0x20:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 0xF)])
            default: out.append(b)
            }
        }
        out.append(0x22)
    }
}

extension JSON: CustomStringConvertible {
    public var description: String { text }
}
