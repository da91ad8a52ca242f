import Testing
@testable import SkeinCore

@Suite("Key codec")
struct KeyCodecTests {
    /// The documented order: null < false < true < numbers (numeric) < strings (UTF-8 bytes).
    static func valueOrder(_ a: JSON, _ b: JSON) -> Bool {
        func rank(_ v: JSON) -> Int {
            switch v {
            case .null: 0
            case .bool(false): 1
            case .bool(true): 2
            case .number: 3
            default: 4
            }
        }
        switch (a, b) {
        case (.number(let x), .number(let y)): return x < y
        case (.string(let x), .string(let y)): return Array(x.utf8).lexicographicallyPrecedes(Array(y.utf8))
        default: return rank(a) < rank(b)
        }
    }

    static func sample() -> [JSON] {
        var rng = SplitMix(seed: 2026)
        var values: [JSON] = [
            .null, false, true, 0, .number(-0.0), 1, -1, 0.5, -0.5, 1e-300, -1e-300, 1e300, -1e300,
            .number(Double.greatestFiniteMagnitude), .number(-Double.greatestFiniteMagnitude),
            .number(Double.leastNonzeroMagnitude), 9_007_199_254_740_993, 42, 42.000001, -42,
            "", "a", "A", "ab", "abc", "b", "aa", "a\u{0}", "é", "e", "z", "中文", "😀", "10", "9", "-1", " ",
        ]
        for _ in 0..<150 {
            let r = Double(Int64(bitPattern: rng.next()) % 2_000_000) / 1000 // fractions, negatives
            values.append(.number(r))
            values.append(.number(Double(Int64(bitPattern: rng.next()) >> Int64(rng.next() % 60)))) // large, both signs
            let scalars = (0..<Int(rng.next() % 6)).map { _ -> Character in
                let pool: [Character] = ["a", "b", "z", "A", "0", "9", "~", "é", "ß", "中", "😀", " "]
                return pool[Int(rng.next() % UInt64(pool.count))]
            }
            values.append(.string(String(scalars)))
        }
        return values
    }

    @Test func byteOrderOfEncodingsEqualsValueOrder() throws {
        let values = Self.sample()
        let encoded = values.map { KeyCodec.encode($0)! }
        var mismatches: [String] = []
        for i in values.indices {
            for j in values.indices where i < j {
                let (a, b) = (values[i], values[j])
                let (ea, eb) = (encoded[i], encoded[j])
                if Self.valueOrder(a, b) != ea.lexicographicallyPrecedes(eb) || Self.valueOrder(b, a) != eb.lexicographicallyPrecedes(ea) {
                    mismatches.append("\(a) vs \(b)")
                }
            }
        }
        #expect(values.count > 450)
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
    }

    @Test func sortingByEncodingSortsByValue() {
        let values = Self.sample()
        let byValue = values.sorted(by: Self.valueOrder)
        let byBytes = values.sorted { KeyCodec.encode($0)!.lexicographicallyPrecedes(KeyCodec.encode($1)!) }
        // Equal values (0 and -0) may swap; compare encodings.
        #expect(byValue.map { KeyCodec.encode($0)! } == byBytes.map { KeyCodec.encode($0)! })
    }

    @Test func decodeInvertsEncode() throws {
        for v in Self.sample() {
            let bytes = try #require(KeyCodec.encode(v))
            #expect(KeyCodec.decode(bytes) == v, "\(v)")
        }
    }

    @Test func negativeZeroEncodesLikeZero() {
        #expect(KeyCodec.encode(.number(-0.0)) == KeyCodec.encode(.number(0)))
        let decoded = KeyCodec.decode(KeyCodec.encode(.number(-0.0))!)
        #expect(decoded?.doubleValue?.sign == .plus)
    }

    @Test func tagsAndShapes() {
        #expect(KeyCodec.encode(.null) == [0x01])
        #expect(KeyCodec.encode(false) == [0x02])
        #expect(KeyCodec.encode(true) == [0x03])
        #expect(KeyCodec.encode(1)?.count == 9)
        #expect(KeyCodec.encode(1)?.first == 0x10)
        #expect(KeyCodec.encode("ab") == [0x20, 0x61, 0x62])
        #expect(KeyCodec.encode([1]) == nil)
        #expect(KeyCodec.encode(["a": 1]) == nil)
    }

    @Test func decodeRejectsMalformedBytes() {
        #expect(KeyCodec.decode([UInt8]()) == nil)
        #expect(KeyCodec.decode([0x10, 1, 2]) == nil)
        #expect(KeyCodec.decode([0x7F]) == nil)
    }

    @Test(arguments: [UInt64(0), 1, 255, 256, 65_535, 1 << 32, UInt64.max - 1, UInt64.max])
    func uint64RoundTrip(v: UInt64) {
        let bytes = KeyCodec.encodeUInt64(v)
        #expect(bytes.count == 8)
        #expect(KeyCodec.decodeUInt64(bytes) == v)
        #expect(KeyCodec.decodeUInt64(bytes[0...]) == v)
    }

    @Test func uint64ByteOrderEqualsNumericOrder() {
        var rng = SplitMix(seed: 99)
        let values = (0..<500).map { _ in rng.next() >> (rng.next() % 64) } + [0, 1, .max]
        for _ in 0..<2000 {
            let a = values[Int(rng.next() % UInt64(values.count))], b = values[Int(rng.next() % UInt64(values.count))]
            #expect((a < b) == KeyCodec.encodeUInt64(a).lexicographicallyPrecedes(KeyCodec.encodeUInt64(b)))
        }
        #expect(KeyCodec.encodeUInt64(1) == [0, 0, 0, 0, 0, 0, 0, 1])
    }

    @Test func longStringsAreTruncated() {
        let exact = String(repeating: "x", count: KeyCodec.maxKeyBytes)
        let long = exact + "yz"
        #expect(!KeyCodec.isTruncated(.string(exact)))
        #expect(KeyCodec.isTruncated(.string(long)))
        #expect(KeyCodec.encode(.string(long))?.count == KeyCodec.maxKeyBytes + 1)
        #expect(KeyCodec.encode(.string(long)) == KeyCodec.encode(.string(exact)))
        #expect(KeyCodec.decode(KeyCodec.encode(.string(long))!) == .string(exact))
        // Multi-byte characters count in bytes.
        let wide = String(repeating: "é", count: KeyCodec.maxKeyBytes / 2 + 1)
        #expect(KeyCodec.isTruncated(.string(wide)))
        #expect(!KeyCodec.isTruncated(1))
        #expect(!KeyCodec.isTruncated(.null))
        #expect(KeyCodec.maxKeyBytes < 511)
    }
}
