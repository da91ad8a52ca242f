import Testing
@testable import SkeinCore

@Suite("JSON")
struct JSONTests {
    // MARK: Round trips

    @Test func nestedRoundTrip() throws {
        let value: JSON = [
            "name": "Harper", "age": 7, "tags": ["a", "b", ["deep": [1, 2.5, -3]]],
            "empty_obj": [:], "empty_arr": [], "none": nil, "yes": true, "no": false,
        ]
        let text = value.text
        #expect(try JSON.parse(text) == value)
        // Keys are sorted, so equal values print equally.
        #expect(text.hasPrefix("{\"age\":7,\"empty_arr\":[],\"empty_obj\":{}"))
        #expect(try JSON.parse(text).text == text)
    }

    /// Fields read one by one from bytes: values of unwanted fields are skipped unread,
    /// nested objects come back empty, arrays whole; broken input still throws.
    @Test func forEachFieldReadsWantedFieldsOnly() throws {
        let text = #"{"a": 1, "skip": "x\"}{[", "b": ["p", 2], "o": {"k": [1, {"z": "}"}]}, "skip2": {"q": "]"}, "c": "q\u00e9"}"#
        var seen: [(String, JSON)] = []
        try JSON.forEachField(in: Array(text.utf8), where: { !$0.hasPrefix("skip") }) { seen.append(($0, $1)) }
        #expect(seen.map(\.0) == ["a", "b", "o", "c"])
        #expect(seen.map(\.1) == [1, ["p", 2], .object([:]), "qé"])
        for broken in [#"{"a": 1, "skip": "open}"#, #"{"a" 1}"#, #"[1]"#, #"{"skip": {"x": 1}"#] {
            #expect(throws: (any Error).self, "\(broken)") { try JSON.forEachField(in: Array(broken.utf8), where: { !$0.hasPrefix("skip") }) { _, _ in } }
        }
    }

    /// Names read as bytes and values skipped unbuilt: escaped quotes and backslash runs
    /// end strings where the parser says, and a skipped value is still checked.
    @Test func memberNamesSkipValuesAsTheParserReadsThem() throws {
        let text = #"{"a":"x\\","b\"q":"y\\\"z","c":-1.5e3,"d":[true,null,{"e":"]"}],"f":false}"#
        var names: [String] = []
        let bytes = Array(text.utf8)
        try JSON.forEachMemberName(in: bytes) { name in
            switch name {
            case .plain(let range): names.append(String(decoding: bytes[range], as: UTF8.self))
            case .escaped(let decoded): names.append("escaped:" + decoded)
            }
        }
        #expect(names == ["a", "escaped:b\"q", "c", "d", "f"])
        #expect(try JSON.parse(bytes).objectValue?.count == 5)
        for broken in [#"{"a":01}"#, #"{"a":1.}"#, #"{"a":-}"#, #"{"a":tru}"#, #"{"a":"open}"#, #"{"a":x}"#, #"{"a":"x\"}"#] {
            #expect(throws: (any Error).self, "\(broken)") { try JSON.forEachMemberName(in: Array(broken.utf8)) { _ in } }
            #expect(throws: (any Error).self, "\(broken)") { try JSON.parse(Array(broken.utf8)) }
        }
    }

    @Test func parsesWhitespaceAroundEverything() throws {
        let v = try JSON.parse(" \n\t{ \"a\" : [ 1 , 2 ] ,\r\n \"b\" : null } \n")
        #expect(v == ["a": [1, 2], "b": nil])
    }

    @Test func unicodeEscapes() throws {
        #expect(try JSON.parse(#""\u0041\u00e9\u4e2d""#) == "Aé中")
        // A surrogate pair is one scalar (U+1F600).
        #expect(try JSON.parse(#""\ud83d\ude00""#) == "😀")
        #expect(try JSON.parse(#""x\uD834\uDD1Ey""#) == "x𝄞y")
        #expect(try JSON.parse(#""\"\\\/\b\f\n\r\t""#) == .string("\"\\/\u{08}\u{0C}\n\r\t"))
        // Raw (unescaped) multi-byte UTF-8 passes through.
        #expect(try JSON.parse("\"héllo 😀\"") == "héllo 😀")
    }

    @Test func stringSerializationEscapesAndRoundTrips() throws {
        let s = JSON.string("q\"b\\n\nr\rt\t\u{01}\u{1F}é😀/")
        #expect(s.text == #""q\"b\\n\nr\rt\t\u0001\u001fé😀/""#)
        #expect(try JSON.parse(s.text) == s)
    }

    @Test(arguments: [
        (JSON.number(1), "1"), (.number(-1), "-1"), (.number(0), "0"), (.number(-0.0), "0"),
        (.number(1e14), "100000000000000"), (.number(123456789), "123456789"),
        (.number(1.5), "1.5"), (.number(-0.25), "-0.25"),
    ])
    func integralNumbersPrintWithoutFraction(value: JSON, expected: String) {
        #expect(value.text == expected)
    }

    @Test(arguments: ["1", "-1", "0", "-0.5", "3.25", "1e3", "1E3", "-2.5e-3", "6.02e+23", "1e300", "12345678901234567890", "0.1"])
    func numbersRoundTrip(text: String) throws {
        let v = try JSON.parse(text)
        guard case .number(let d) = v else { Issue.record("not a number: \(v)"); return }
        #expect(d == Double(text)!)
        #expect(try JSON.parse(v.text) == v)
    }

    @Test func parsedIntegralNumbersReprintAsIntegers() throws {
        #expect(try JSON.parse("1.0").text == "1")
        #expect(try JSON.parse("1e3").text == "1000")
        #expect(try JSON.parse("-2E2").text == "-200")
        #expect(try JSON.parse("[1,2.0,3]").text == "[1,2,3]")
    }

    @Test func nonFiniteNumbersSerializeAsNull() {
        #expect(JSON.number(.infinity).text == "null")
        #expect(JSON.number(.nan).text == "null")
    }

    @Test func depthLimitAllowsExactly256() throws {
        let ok = String(repeating: "[", count: 256) + String(repeating: "]", count: 256)
        _ = try JSON.parse(ok)
        let objects = String(repeating: "{\"a\":", count: 256) + "1" + String(repeating: "}", count: 256)
        _ = try JSON.parse(objects)
    }

    @Test func accessors() {
        let v: JSON = ["s": "x", "n": 2, "f": 2.5, "b": true, "a": [1], "o": ["k": nil]]
        #expect(v["s"]?.stringValue == "x")
        #expect(v["n"]?.intValue == 2)
        #expect(v["f"]?.intValue == nil)
        #expect(v["f"]?.doubleValue == 2.5)
        #expect(v["b"]?.boolValue == true)
        #expect(v["a"]?.arrayValue == [1])
        #expect(v["o"]?["k"]?.isNull == true)
        #expect(v["missing"] == nil)
        #expect(JSON.string("x")["k"] == nil)
        #expect(v["o"]?.typeName == "object")
        var w = v
        w["s"] = "y"
        #expect(w["s"] == "y")
    }

    // MARK: Errors

    @Test(arguments: [
        ("trailing comma in array", "[1,2,]"),
        ("trailing comma in object", "{\"a\":1,}"),
        ("unterminated string", "\"abc"),
        ("unterminated string after escape", "\"abc\\"),
        ("bad escape", #""\x41""#),
        ("bad unicode escape", #""\u12G4""#),
        ("short unicode escape", #""\u12""#),
        ("leading garbage", "x{\"a\":1}"),
        ("trailing garbage", "{\"a\":1} x"),
        ("two documents", "1 2"),
        ("lone high surrogate", #""\ud83d""#),
        ("high surrogate then letter", #""\ud83dA""#),
        ("high surrogate then non-low escape", #""\ud83d\u0041""#),
        ("lone low surrogate", #""\ude00""#),
        ("depth 257 arrays", String(repeating: "[", count: 257) + String(repeating: "]", count: 257)),
        ("depth 257 objects", String(repeating: "{\"a\":", count: 257) + "1" + String(repeating: "}", count: 257)),
        ("control char in string", "\"a\u{01}b\""),
        ("raw newline in string", "\"a\nb\""),
        ("control char after escape", "\"\\n\u{1F}\""),
        ("bare word", "hello"),
        ("truncated literal", "tru"),
        ("misspelled literal", "nul1"),
        ("capitalised literal", "True"),
        ("empty input", ""),
        ("only whitespace", "  \n "),
        ("missing colon", "{\"a\" 1}"),
        ("unquoted key", "{a:1}"),
        ("unclosed array", "[1,2"),
        ("unclosed object", "{\"a\":1"),
        ("missing comma", "[1 2]"),
        ("minus alone", "-"),
        ("fraction without digits", "1."),
        ("leading dot", ".5"),
        ("exponent without digits", "1e"),
        ("exponent sign only", "1e+"),
        ("plus sign", "+1"),
        ("number out of range", "1e400"),
        ("single quotes", "'a'"),
    ])
    func malformedInputThrows(name: String, text: String) {
        #expect(throws: JSONParseError.self, "\(name)") { try JSON.parse(text) }
    }

    @Test func errorReportsOffset() {
        do {
            _ = try JSON.parse("[1, 2, x]")
            Issue.record("expected an error")
        } catch {
            #expect(error.offset == 7)
            #expect(error.description.contains("byte 7"))
        }
        do {
            _ = try JSON.parse("{\"a\":1} ?")
            Issue.record("expected an error")
        } catch {
            #expect(error.offset == 8)
            #expect(error.reason.contains("trailing"))
        }
    }

    @Test
    func leadingZerosAreRejected() {
        #expect(throws: JSONParseError.self) { try JSON.parse("01") }
        #expect(throws: JSONParseError.self) { try JSON.parse("-007") }
        #expect(throws: JSONParseError.self) { try JSON.parse("[00]") }
    }

    @Test func parsesFromByteCollections() throws {
        let bytes: [UInt8] = Array("{\"k\":[true,false,null]}".utf8)
        #expect(try JSON.parse(bytes) == ["k": [true, false, nil]])
        #expect(try JSON.parse(bytes[0...]) == ["k": [true, false, nil]])
        #expect((["a": 1] as JSON).serialized() == Array("{\"a\":1}".utf8))
    }
}
