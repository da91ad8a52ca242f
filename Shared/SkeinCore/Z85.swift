/// ZeroMQ's Z85 text encoding (RFC 32): 4 bytes per 5 printable characters. CURVE keys are
/// written in it (40 characters for 32 bytes), so configuration can check them without libzmq.
public enum Z85 {
    static let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#".utf8)
    static let values: [UInt8: UInt32] = Dictionary(uniqueKeysWithValues: alphabet.enumerated().map { ($1, UInt32($0)) })

    /// The bytes of `text`, or nil when its length is not a multiple of 5, a character is not
    /// in the alphabet, or a group is larger than 32 bits.
    public static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 5 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 5 * 4)
        for group in stride(from: 0, to: chars.count, by: 5) {
            var value: UInt64 = 0
            for c in chars[group..<group + 5] {
                guard let digit = values[c] else { return nil }
                value = value * 85 + UInt64(digit)
            }
            guard value <= UInt64(UInt32.max) else { return nil }
            out += [UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
        }
        return out
    }

    /// The text of `bytes`; their count must be a multiple of 4.
    public static func encode(_ bytes: [UInt8]) -> String {
        precondition(bytes.count % 4 == 0, "Z85 encodes groups of 4 bytes")
        var out: [UInt8] = []
        for group in stride(from: 0, to: bytes.count, by: 4) {
            var value = bytes[group..<group + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            var chars = [UInt8](repeating: 0, count: 5)
            for i in (0..<5).reversed() {
                chars[i] = alphabet[Int(value % 85)]
                value /= 85
            }
            out += chars
        }
        return String(decoding: out, as: UTF8.self)
    }
}
