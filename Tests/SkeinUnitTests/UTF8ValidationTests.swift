import SkeinCore
import Testing

/// A replication message is checked to be UTF-8 as bytes (`UTF8Validation`): the same verdict
/// as the standard library's decoder on random and edge-case bytes.
@Suite("UTF-8 validation")
struct UTF8ValidationTests {
    static let edges: [[UInt8]] = [
        [], Array("plain ascii, longer than eight bytes".utf8), Array("é ü 日本 🐶 \u{10FFFF}".utf8),
        [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xE0, 0x9F, 0xBF], [0xED, 0xA0, 0x80], [0xED, 0x9F, 0xBF],
        [0xF0, 0x8F, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF], [0xF5, 0x80, 0x80, 0x80],
        [0xE2, 0x82], [0x80], [0xBF], [0xFE], [0xFF], Array("abcdefg".utf8) + [0xC3], Array("abcdefgh".utf8) + [0xC3, 0xA9],
    ]

    @Test func agreesWithTheStandardLibrary() {
        for bytes in Self.edges {
            #expect(UTF8Validation.isValid(bytes) == (String(validating: bytes, as: UTF8.self) != nil), "\(bytes)")
        }
        var rng = SplitMix(seed: 17)
        let pieces: [[UInt8]] = Self.edges + [[0x41], [0x7F], [0xC3], [0xA9], [0xE6], [0x97], [0xA5], [0xF0], [0x9F], [0x90], [0xB6]]
        for _ in 0..<5_000 {
            var bytes: [UInt8] = []
            for _ in 0..<Int(rng.next() % 12) { bytes += pieces[Int(rng.next() % UInt64(pieces.count))] }
            #expect(UTF8Validation.isValid(bytes) == (String(validating: bytes, as: UTF8.self) != nil), "\(bytes)")
        }
    }
}
