/// The `Idempotency-Key` HTTP header: what a valid key is, and the hash of the request it
/// came with. The gateway checks and hashes (it has the client's bytes as sent, before a
/// password in them is hashed with a fresh salt); the store keeps the results
/// (`IdempotencyKeys` in SkeinStorage). docs/API.md "Retries and idempotency keys".
public enum IdempotencyHeader {
    public static let name = "Idempotency-Key"
    /// Longest key accepted, so user and key fit an LMDB key.
    public static let maxBytes = 200

    /// 1 – 200 bytes of printable ASCII without spaces.
    public static func isValid(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= maxBytes && text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }

    public static let invalidMessage = "\(name) must be 1 to \(maxBytes) printable ASCII characters without spaces"

    /// FNV-1a, 64 bits, of a request body: stable across processes (Swift's `Hasher` is
    /// seeded per process), enough to tell a key reused for another request.
    public static func requestHash(_ bytes: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return h
    }
}
