import Testing
@testable import SkeinCore

/// A write's records read from the request's bytes (`IncomingWrite`, `RecordMembers`) are
/// serialized byte for byte as the JSON tree of the same record is: the stored record
/// does not depend on which way it was read.
@Suite("Record members")
struct RecordMembersTests {
    @Test func serializedAsTheTreeIs() throws {
        var rng = SplitMix(seed: 42)
        for _ in 0..<3_000 {
            let text = Self.record(&rng)
            let write = try IncomingWrite(bytes: Array(#"{"operation": "insert", "records": ["#.utf8) + Array(text.utf8) + Array("]}".utf8))
            guard case .object(let members) = write.records?.first else {
                Issue.record("no record read from \(text)")
                continue
            }
            let tree = try JSON.parse(text)
            #expect(members.serialized(overriding: []) == tree.serialized(), "\(text)")
            let overriding: [(key: String, value: JSON)] = [("__createdtime__", 1), ("__updatedtime__", 2), ("b", "set")]
            var merged = tree.objectValue!
            for (key, value) in overriding { merged[key] = value }
            #expect(members.serialized(overriding: overriding) == JSON.object(merged).serialized(), "\(text)")
            #expect(JSON.object(members.fields) == tree, "\(text)")
            #expect(members.names == tree.objectValue!.keys.sorted(), "\(text)")
            #expect(RecordMembers(fields: tree.objectValue!).serialized(overriding: []) == tree.serialized(), "\(text)")
        }
    }

    @Test func requestFieldsAndOtherRecords() throws {
        let write = try IncomingWrite(bytes: Array(#"{"operation":"insert","database":"d","records":[{"id":1},"x",[1],null],"table":"t"}"#.utf8))
        #expect(write.fields == ["operation": "insert", "database": "d", "table": "t"])
        #expect(write.records?.count == 4)
        if case .other(let value) = write.records?[1] { #expect(value == "x") } else { Issue.record("a string read as a record") }
        let notArray = try IncomingWrite(bytes: Array(#"{"records":{"id":1}}"#.utf8))
        #expect(notArray.records == nil)
        #expect(notArray.fields["records"] == ["id": 1])
        let repeated = try IncomingWrite(bytes: Array(#"{"records":[{"id":1}],"records":5}"#.utf8))
        #expect(repeated.records == nil && repeated.fields["records"] == 5)
        for broken in [#"{"records":[{"id":1}]"#, #"{"records":[{"id":"\u12"}]}"#, #"{"records":[{"a":01}]}"#, #"{"records":[{"a":"x\#u{01}"}]}"#,
                       #"{"records":[{"a":1e999}]}"#, #"{"records":[{"a":tru}]}"#] {
            #expect(throws: SkeinError.self, "\(broken)") { try IncomingWrite(bytes: Array(broken.utf8)) }
        }
        var invalidUTF8 = Array(#"{"records":[{"a":""#.utf8)
        invalidUTF8 += [0xC3, 0x28]
        invalidUTF8 += Array(#""}]}"#.utf8)
        #expect(throws: SkeinError.self) { try IncomingWrite(bytes: invalidUTF8) }
    }

    // MARK: Random records

    static let names = ["id", "a", "b", "name", "zz", "é", "Z", "a\\u0062", "__createdtime__", "with space"]
    static let numbers = ["0", "-0", "7", "-12", "123456789012345", "1234567890123456", "999999999999999999999", "1.5", "1.50", "-0.25",
                          "1e2", "1E-3", "2.5e+3", "0.1", "142.85714285714286", "3.0", "-7.000"]
    static let strings = [#""plain""#, #""""#, #""q\"uote""#, #""back\\slash""#, #""line\nbreak""#, #""\u00e9t\u00E9""#, #""sl\/ash""#,
                          #""é ∑ 🙂""#, #""\ud83d\ude42""#, #""tab\there""#, #""long text that is longer than sixteen bytes, twice over""#]

    static func value(_ rng: inout SplitMix, depth: Int) -> String {
        switch rng.next() % (depth > 1 ? 4 : 6) {
        case 0: return numbers[Int(rng.next() % UInt64(numbers.count))]
        case 1: return strings[Int(rng.next() % UInt64(strings.count))]
        case 2: return ["true", "false", "null"][Int(rng.next() % 3)]
        case 3: return strings[Int(rng.next() % UInt64(strings.count))]
        case 4: return "[ " + (0..<Int(rng.next() % 3)).map { _ in value(&rng, depth: depth + 1) }.joined(separator: " , ") + " ]"
        default: return record(&rng, depth: depth + 1)
        }
    }

    static func record(_ rng: inout SplitMix, depth: Int = 0) -> String {
        let members = (0..<Int(rng.next() % 7)).map { _ in
            "\"\(names[Int(rng.next() % UInt64(names.count))])\"" + (rng.next() % 2 == 0 ? ":" : " : ") + value(&rng, depth: depth)
        }
        return (rng.next() % 2 == 0 ? "{" : "{ ") + members.joined(separator: rng.next() % 2 == 0 ? "," : ",\n ") + "}"
    }
}
