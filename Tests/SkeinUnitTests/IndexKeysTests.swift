import SkeinCore
import Testing

/// The index worker reads index keys straight from record bytes (`IndexKeys.forEachField`);
/// they must be exactly the keys of the parsed values (`IndexKeys.of`), and numbers parse
/// the same on the integer fast path as through text.
@Suite("Index keys from record bytes")
struct IndexKeysTests {
    static let values: [JSON] = [
        "plain", "", "with \"quotes\" and \\ backslash", "tab\tinside", "é ü 日本 🐶", .string(String(repeating: "long text ", count: 40)),
        .string(String(repeating: "é", count: 40)), 0, -0.0, 7, -42, 123_456_789_012_345, 1_234_567_890_123_456, 3.25, -1e-7, 6.02e23, 1e300,
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
