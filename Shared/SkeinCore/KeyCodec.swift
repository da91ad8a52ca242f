/// Order-preserving binary encoding of key scalars, used for primary keys and secondary
/// index keys in LMDB. Byte order of encodings equals the order
/// null < false < true < numbers (numeric order) < strings (UTF-8 order).
public enum KeyCodec {
    static let tagNull: UInt8 = 0x01
    static let tagFalse: UInt8 = 0x02
    static let tagTrue: UInt8 = 0x03
    static let tagNumber: UInt8 = 0x10
    static let tagString: UInt8 = 0x20
    /// LMDB's default maximum key size is 511 bytes; index keys are cut below it.
    public static let maxKeyBytes = 480

    /// Encodes a scalar; `nil` for arrays and objects, which are not keys.
    public static func encode(_ value: JSON) -> [UInt8]? {
        switch value {
        case .null: return [tagNull]
        case .bool(let b): return [b ? tagTrue : tagFalse]
        case .number(let d):
            // Reserved before the tag goes in: an array literal would be allocated twice.
            var out: [UInt8] = []
            out.reserveCapacity(9)
            out.append(tagNumber)
            appendDouble(d, to: &out)
            return out
        case .string(let s):
            var out: [UInt8] = []
            let utf8 = s.utf8
            out.reserveCapacity(1 + min(utf8.count, maxKeyBytes))
            out.append(tagString)
            // Contiguous native strings (nearly all) copy as one block, not byte by byte.
            if utf8.withContiguousStorageIfAvailable({ out.append(contentsOf: $0.prefix(maxKeyBytes)) }) == nil {
                out.append(contentsOf: utf8.prefix(maxKeyBytes))
            }
            return out
        case .array, .object: return nil
        }
    }

    /// Whether `encode` dropped bytes from this value (a long string): such index hits must be
    /// re-checked against the record.
    public static func isTruncated(_ value: JSON) -> Bool {
        if case .string(let s) = value { return s.utf8.count > maxKeyBytes }
        return false
    }

    public static func decode(_ bytes: some Collection<UInt8>) -> JSON? {
        guard let tag = bytes.first else { return nil }
        let rest = bytes.dropFirst()
        switch tag {
        case tagNull: return .null
        case tagFalse: return .bool(false)
        case tagTrue: return .bool(true)
        case tagNumber:
            guard rest.count == 8 else { return nil }
            return .number(decodeDouble(Array(rest)))
        case tagString: return .string(String(decoding: rest, as: UTF8.self))
        default: return nil
        }
    }

    /// IEEE-754 bits flipped so unsigned byte order equals numeric order.
    static func encodeDouble(_ d: Double) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(8)
        appendDouble(d, to: &out)
        return out
    }

    /// The 8 bytes of `d` that sort as the numbers do (sign bit flipped, negatives inverted).
    static func appendDouble(_ d: Double, to out: inout [UInt8]) {
        let value = d == 0 ? 0.0 : d  // fold -0 into 0
        var bits = value.bitPattern
        bits = (bits & (1 << 63)) != 0 ? ~bits : bits | (1 << 63)
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
    }

    static func decodeDouble(_ b: [UInt8]) -> Double {
        var bits: UInt64 = 0
        for byte in b { bits = bits << 8 | UInt64(byte) }
        bits = (bits & (1 << 63)) != 0 ? bits & ~(1 << 63) : ~bits
        return Double(bitPattern: bits)
    }

    /// Big-endian UInt64, for sequence numbers whose byte order must equal numeric order.
    public static func encodeUInt64(_ v: UInt64) -> [UInt8] {
        withUnsafeBytes(of: v.bigEndian) { Array($0) }
    }

    public static func decodeUInt64(_ b: some Collection<UInt8>) -> UInt64 {
        var v: UInt64 = 0
        for byte in b.prefix(8) { v = v << 8 | UInt64(byte) }
        return v
    }
}
