import Foundation
import Testing
@testable import SkeinCore

/// The write path's shortcuts give what the plain ways give: short decimals parsed without
/// strtod, strings checked for escapes 16 bytes at a time, and objects serialized with
/// members put in place of their own.
@Suite("JSON fast paths")
struct JSONFastPathTests {
    @Test func shortDecimalsEqualStrtod() throws {
        var rng = SystemRandomNumberGenerator()
        var texts = ["0", "-0", "0.0", "0.1", "0.3", "1.5", "-2.25", "123456789012345", "12345678901234.5", "0.000000000000001",
                     "999999999999999", "9999999999999999", "1.0000000000000002", "1e3", "1.5E-2", "-0.000001", "98765.4321"]
        for _ in 0..<5_000 {
            let digits = Int.random(in: 1...17, using: &rng)
            var text = (0..<digits).map { _ in String(Int.random(in: 0...9, using: &rng)) }.joined()
            while text.count > 1 && text.hasPrefix("0") { text.removeFirst() }
            if Bool.random(using: &rng), text.count > 1 {
                let at = text.index(text.startIndex, offsetBy: Int.random(in: 1..<text.count, using: &rng))
                text.insert(".", at: at)
            }
            texts.append(Bool.random(using: &rng) ? "-" + text : text)
        }
        for text in texts {
            let parsed = try JSON.parse(text)
            #expect(parsed == .number(Double(text)!), "\(text)")
            #expect(parsed.doubleValue?.sign == Double(text)!.sign, "\(text)")
        }
    }

    /// Integers read in one pass: the same values, and the same refusals, as the checked way;
    /// in arrays and objects too (where the number ends at a delimiter).
    @Test func integersInOnePassEqualTheCheckedWay() throws {
        for text in ["7", "-7", "0", "-0", "10", "999999999999999", "1000000000000000", "-123456789012345678", "42.0", "42e0", "42E+1"] {
            let parsed = try JSON.parse(text)
            #expect(parsed == .number(Double(text)!), "\(text)")
            #expect(parsed.doubleValue?.sign == Double(text)!.sign, "\(text)")
            #expect(try JSON.parse("[\(text),\(text)]") == .array([.number(Double(text)!), .number(Double(text)!)]), "\(text)")
            #expect(try JSON.parse("{\"n\":\(text)}")["n"] == .number(Double(text)!), "\(text)")
        }
        for bad in ["01", "-01", "00", "-", "-a", "1.", "1e", "--1"] {
            #expect(throws: JSONParseError.self, "\(bad)") { try JSON.parse(bad) }
        }
    }

    @Test func escapesFoundAtEveryPosition() throws {
        for length in [0, 1, 15, 16, 17, 31, 32, 33, 100] {
            let plain = String(repeating: "a", count: length)
            #expect(JSON.string(plain).text == "\"" + plain + "\"")
            for position in 0..<length {
                for special in ["\"", "\\", "\n", "\u{01}", "\u{1F}"] {
                    var chars = Array(plain)
                    chars[position] = Character(special)
                    let s = String(chars)
                    let text = JSON.string(s).text
                    #expect(try JSON.parse(text) == .string(s), "\(length) \(position)")
                    #expect(text == Self.escaped(s), "\(length) \(position)")
                }
            }
        }
        #expect(JSON.string("é ∑ 🙂 plain text longer than sixteen bytes").text == "\"é ∑ 🙂 plain text longer than sixteen bytes\"")
    }

    /// The escaping, one byte at a time.
    static func escaped(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    @Test func overridingMembersTakeTheirPlace() throws {
        let record: [String: JSON] = ["id": 1, "b": "x", "__createdtime__": 5, "z": [1, 2], "a": ["k": true]]
        let cases: [[(key: String, value: JSON)]] = [
            [],
            [("__createdtime__", 9), ("__updatedtime__", 10)],
            [("__updatedtime__", 10)],
            [("0first", .null), ("zz", "last")],
            [("b", "replaced")],
        ]
        for overriding in cases {
            var merged = record
            for (k, v) in overriding { merged[k] = v }
            let bytes = RecordMembers(fields: record).serialized(overriding: overriding)
            #expect(bytes == JSON.object(merged).serialized(), "\(overriding.map(\.key))")
        }
    }
}
