import SkeinCore
import Testing

/// The index worker reads index keys straight from record bytes (`IndexKeys.forEachField`);
/// they must be exactly the keys of the parsed values (`IndexKeys.of`), and numbers parse
/// the same on the integer fast path as through text.
@Suite("Index keys from record bytes")
struct IndexKeysTests {
    static let values: [JSON] = [
        "plain", "", "with \"quotes\" and \\ backslash", "tab\tinside", "é ü 日本 🐶", .string(String(repeating: "long text ", count: 40)),
        .string(String(repeating: "é", count: 40)),
        .string(String(repeating: "x", count: 70) + "\"escaped\" past the key\\"), "ends in a backslash \\", 0, -0.0, 7, -42, 123_456_789_012_345, 1_234_567_890_123_456, 3.25, -1e-7, 6.02e23, 1e300,
        true, false, .null, [:], ["nested": ["deep": 1]], [], [1, "two", true, .null, ["x"], [:]], ["a", "a"],
    ]

    @Test func keysFromBytesAreTheKeysOfTheParsedValues() throws {
        var rng = SystemRandomNumberGenerator()
        for round in 0..<300 {
            var record: [String: JSON] = [:]
            for i in 0..<Int.random(in: 1...8, using: &rng) { record["a\(i)"] = Self.values.randomElement(using: &rng)! }
            let bytes = JSON.object(record).serialized()
            for maxBytes in [64, 9, 480] {
                var fast: [String: [[UInt8]]] = [:]
                try IndexKeys.forEachField(inRecord: bytes, maxBytes: maxBytes, where: { $0 != "a0" }) { fast[$0, default: []].append($1) }
                var parsed: [String: [[UInt8]]] = [:]
                for (name, value) in record where name != "a0" {
                    let keys = IndexKeys.of(try JSON.parse(value.serialized()), maxBytes: maxBytes)
                    if !keys.isEmpty { parsed[name] = keys }
                }
                #expect(fast == parsed, "round \(round), max \(maxBytes): \(String(decoding: bytes, as: UTF8.self))")
            }
        }
    }

    /// The index worker's reading: attributes numbered by their bytes (`AttributePositions`),
    /// a declared table's reading stopped once its indexed attributes were met. The same
    /// keys as the `String` reading, records after records (positions carry over).
    @Test func keysByPositionAreTheKeysByName() throws {
        var rng = SystemRandomNumberGenerator()
        var positions = AttributePositions()
        let names = ["a0", "a1", "a2", "b", "é", "__createdtime__"]
        for round in 0..<300 {
            var record: [String: JSON] = [:]
            for name in names.shuffled(using: &rng).prefix(Int.random(in: 1...names.count, using: &rng)) {
                record[name] = Self.values.randomElement(using: &rng)!
            }
            var bytes = JSON.object(record).serialized()
            // An escaped name that decodes to one also written plainly elsewhere.
            bytes = Array(String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\"a2\"", with: "\"a\\u0032\"").utf8)
            let wanted: Set<String> = ["a1", "a2", "é"]
            var byName: [String: [[UInt8]]] = [:]
            try IndexKeys.forEachField(inRecord: bytes, maxBytes: 64, where: { wanted.contains($0) }) { byName[$0, default: []].append($1) }
            let present = record.keys.filter { wanted.contains($0) }.count
            for stop in [Int.max, present] {
                var byPosition: [String: [[UInt8]]] = [:]
                try IndexKeys.forEachKey(inRecord: bytes, maxBytes: 64, stopAfter: stop, slot: { name -> Int? in
                    let p = positions.position(of: name, in: bytes)
                    return wanted.contains(positions.names[p]) ? p : nil
                }) { byPosition[positions.names[$0], default: []].append($1) }
                #expect(byPosition == byName, "round \(round), stop \(stop): \(String(decoding: bytes, as: UTF8.self))")
            }
        }
        #expect(Set(positions.names).isSubset(of: ["a0", "a1", "a2", "b", "é", "__createdtime__"]))
    }

    @Test func numbersParseTheSameOnTheIntegerFastPath() throws {
        for text in ["0", "-0", "7", "-42", "123456789012345", "999999999999999", "1234567890123456", "12345678901234567890",
                     "1.5", "-2.25e3", "10E2", "1e-3", "9007199254740993"] {
            let parsed = try JSON.parse(Array(text.utf8))
            #expect(parsed.doubleValue?.bitPattern == Double(text)?.bitPattern, "\(text)")
        }
        #expect(throws: (any Error).self) { try JSON.parse(Array("01".utf8)) }
        #expect(throws: (any Error).self) { try JSON.parse(Array("1.".utf8)) }
    }
}
