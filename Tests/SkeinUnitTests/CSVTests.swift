import Testing
import SkeinCore

/// RFC 4180 read incrementally (any chunking gives the same rows), and Harper's type inference.
@Suite("CSV reading and type inference")
struct CSVTests {
    static func rows(_ text: String, chunk: Int) throws -> [[String]] {
        var reader = CSVReader()
        let bytes = Array(text.utf8)
        var out: [[String]] = []
        var i = 0
        while i < bytes.count {
            out += try reader.feed(bytes[i..<min(bytes.count, i + chunk)])
            i += chunk
        }
        return out + (try reader.finish())
    }

    @Test(arguments: [1, 2, 3, 7, 1 << 20])
    func rfc4180InAnyChunks(chunk: Int) throws {
        let text = "\u{FEFF}id,name,note\r\n1,\"Harper, the dog\",\"says \"\"hi\"\"\"\n\n2,Rex,\"two\r\nlines\"\r\n3,,\"\"\n4,é,last"
        #expect(try Self.rows(text, chunk: chunk) == [
            ["id", "name", "note"], ["1", "Harper, the dog", "says \"hi\""], ["2", "Rex", "two\r\nlines"], ["3", "", ""], ["4", "é", "last"],
        ])
    }

    /// Contiguous bytes take the run-copying path; a sequence without contiguous storage
    /// goes a byte at a time. Both give the same rows and the same failures, in any chunks.
    @Test(arguments: [1, 3, 64, 1 << 20])
    func runsAndSingleBytesAgree(chunk: Int) {
        let inputs = [
            "\u{FEFF}id,name\r\n1,\"a, \"\"b\"\"\nc\"\r\n\n2,\"\",x\r3",
            "\u{EF}id\n1\n", "a,b\n1,\"open\nstill", "a,b\n1,x\"y\n", "a,b\n\"q\"x,1\n", "a\r\n\"x\"\"\"\r\n",
            "h\n" + String(repeating: "z", count: 5000) + "\n\"" + String(repeating: "q\n", count: 3000) + "\"\n",
        ]
        func read(_ text: String, contiguous: Bool) -> Result<[[String]], CSVReader.Failure> {
            Result { () throws(CSVReader.Failure) -> [[String]] in
                var reader = CSVReader()
                let bytes = Array(text.utf8)
                var out: [[String]] = []
                for start in stride(from: 0, to: bytes.count, by: chunk) {
                    let piece = bytes[start..<min(bytes.count, start + chunk)]
                    out += contiguous ? try reader.feed(piece) : try reader.feed(piece.lazy.map { $0 })
                }
                return out + (try reader.finish())
            }
        }
        for text in inputs {
            #expect(read(text, contiguous: true) == read(text, contiguous: false), "\(text.prefix(40))")
        }
    }

    @Test func aFieldIsBoundedInRunsToo() {
        var reader = CSVReader()
        let long = [UInt8(ascii: "\"")] + Array(repeating: UInt8(ascii: "x"), count: CSVReader.maxFieldBytes + 1)
        #expect(throws: CSVReader.Failure(line: 1, problem: "a field longer than \(CSVReader.maxFieldBytes) bytes")) { _ = try reader.feed(long) }
    }

    @Test func errorsNameTheLine() {
        #expect(throws: CSVReader.Failure(line: 2, problem: "a quoted field is not closed")) { try Self.rows("a,b\n1,\"open\nstill", chunk: 4) }
        #expect(throws: CSVReader.Failure.self) { try Self.rows("a,b\n1,x\"y\n", chunk: 3) }
        #expect(throws: CSVReader.Failure.self) { try Self.rows("a,b\n\"q\"x,1\n", chunk: 3) }
        var reader = CSVReader()
        #expect(throws: CSVReader.Failure.self) { _ = try reader.feed(Array(repeating: UInt8(ascii: ","), count: CSVReader.maxFields + 5)) }
    }

    @Test func invalidUTF8IsRefused() {
        var reader = CSVReader()
        #expect(throws: CSVReader.Failure.self) { _ = try reader.feed([0x61, 0xFF, 0x0A]) }
    }

    @Test func harpersTypes() {
        #expect(CSVValue.cast("42") == 42)
        #expect(CSVValue.cast("-3.5") == -3.5)
        #expect(CSVValue.cast("0.25") == 0.25)
        #expect(CSVValue.cast("0") == 0)
        #expect(CSVValue.cast("007") == "007", "a leading zero stays text (ids, zip codes)")
        #expect(CSVValue.cast("1e5") == "1e5", "no exponents")
        #expect(CSVValue.cast("0x10") == "0x10")
        #expect(CSVValue.cast("Infinity") == "Infinity")
        #expect(CSVValue.cast("true") == true && CSVValue.cast("FALSE") == false)
        #expect(CSVValue.cast("null") == nil && CSVValue.cast("undefined") == nil && CSVValue.cast("NaN") == nil)
        #expect(CSVValue.cast("[1,\"a\"]") == [1, "a"])
        #expect(CSVValue.cast("{\"a\":1}") == ["a": 1])
        #expect(CSVValue.cast("{not json}") == "{not json}")
        #expect(CSVValue.cast("") == "")
        #expect(CSVValue.cast("Harper") == "Harper")
    }
}
