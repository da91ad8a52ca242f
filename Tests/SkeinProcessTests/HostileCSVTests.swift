import Foundation
import SkeinCore
import Testing

extension ProcessTests {
    /// CSV built to hurt the loader: as many columns as it reads (10,000) and one more,
    /// quotes that never close (in the header, at the end, and before 20 MB of text), and
    /// quotes where RFC 4180 allows none. Each bad file ends its job in ERROR naming the line
    /// and writes nothing (the loader checks every row before it writes one).
    @Suite(.node(), .serialized)
    struct HostileCSV {
        static func load(_ node: TestNode, _ table: String, _ csv: String) async throws -> JSON {
            try await node.runJob(["operation": "csv_data_load", "database": "hostile", "table": .string(table), "data": .string(csv)], timeout: 120)
        }

        static func recordCount(_ node: TestNode, _ table: String) async throws -> JSON? {
            try await node.ok(["operation": "describe_table", "database": "hostile", "table": .string(table)])["record_count"]
        }

        /// 10,000 columns (the reader's bound) parse, then meet the table's attribute bound
        /// (`storage.maxAttributesPerTable`, 500 with `__createdtime__` and `__updatedtime__`):
        /// the job ends in ERROR saying so and writes nothing. One column more than the
        /// reader's bound is refused while reading. A file as wide as the table allows loads.
        @Test func tenThousandColumnsAreRefusedWholeAndAsManyAsATableHoldsLoad() async throws {
            let node = try TestNode.shared()
            func csv(width: Int, rows: Int) -> String {
                var text = (["id"] + (1..<width).map { "c\($0)" }).joined(separator: ",") + "\n"
                for row in 1...rows { text += ([String(row)] + (1..<width).map { String($0 % 10) }).joined(separator: ",") + "\n" }
                return text
            }
            #expect(CSVReader.maxFields == 10_000)
            try await node.freshTable("hostile", "wide")
            let wide = try await Self.load(node, "wide", csv(width: 10_000, rows: 2))
            #expect(wide["status"] == "ERROR" && wide["message"]?.stringValue?.contains("more than 500 (storage.maxAttributesPerTable)") == true, "\(wide)")
            #expect(try await Self.recordCount(node, "wide") == 0)

            let wider = try await Self.load(node, "wide", csv(width: 10_001, rows: 2))
            #expect(wider["status"] == "ERROR" && wider["message"]?.stringValue?.contains("more than 10000 fields") == true, "\(wider)")
            #expect(wider["message"]?.stringValue?.contains("line 1") == true, "the header's line: \(wider)")

            let fits = try await Self.load(node, "wide", csv(width: 498, rows: 3))
            #expect(fits["status"] == "COMPLETE" && fits["message"] == "successfully loaded 3 of 3 records", "\(fits)")
            let record = try #require(try await node.byID("hostile", "wide", [3]).first)
            #expect(record.objectValue?.count == 500 && record["c497"] == 7, "every column arrived")
        }

        @Test func unterminatedAndStrayQuotesEndTheJobInError() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("hostile", "quotes")
            var good = ""
            for i in 1...1200 { good += "\(i),q\(i)\n" }
            let cases: [(what: String, csv: String, says: String)] = [
                ("a header whose quote never closes", "id,\"name\n1,a\n2,b\n", "line"),
                ("a last row whose quote never closes", "id,name\n" + good + "1201,\"open to the end\n", "line 1202"),
                ("a quote inside an unquoted field", "id,name\n" + good + "1201,ab\"c\n", "line 1202"),
                ("text after a closing quote", "id,name\n1,\"a\"b\n", "line 2"),
            ]
            for c in cases {
                let job = try await Self.load(node, "quotes", c.csv)
                #expect(job["status"] == "ERROR" && job["message"]?.stringValue?.contains(c.says) == true, "\(c.what): \(job)")
            }
            // Every row is checked before any is written: none of the 1,200 good rows went in.
            #expect(try await Self.recordCount(node, "quotes") == 0)
        }

        /// A quote that opens before 20 MB and never closes: the field is cut off at its
        /// bound (16 MB), not read whole, and the gateway's memory grows by about that much.
        @Test func aQuoteOpenForTwentyMegabytesIsCutOff() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("hostile", "endless")
            let path = "/tmp/skein-hostile-\(UUID().uuidString).csv"
            defer { try? FileManager.default.removeItem(atPath: path) }
            FileManager.default.createFile(atPath: path, contents: nil)
            let file = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try file.write(contentsOf: Data("id,text\n1,fine\n2,\"".utf8))
            let chunk = Data(String(repeating: "no closing quote, ", count: 58_255).utf8)  // ~1 MB
            for _ in 0..<20 { try file.write(contentsOf: chunk) }
            try file.close()

            let gateway = try #require(node.pid(.gateway))
            try "5".write(toFile: "/proc/\(gateway)/clear_refs", atomically: false, encoding: .utf8)
            let before = try Jobs.kilobytes("VmHWM", of: gateway)
            let job = try await node.runJob(["operation": "csv_file_load", "database": "hostile", "table": "endless", "file_path": .string(path)],
                                            timeout: 120)
            let peak = try Jobs.kilobytes("VmHWM", of: gateway)
            #expect(job["status"] == "ERROR" && job["message"]?.stringValue?.contains("a field longer than") == true, "\(job)")
            #expect(job["message"]?.stringValue?.contains("line 3") == true, "the line where the field began: \(job)")
            #expect(peak - before < 80 * 1024, "the gateway's peak grew by \((peak - before) / 1024) MB")
            #expect(try await Self.recordCount(node, "endless") == 0)
        }
    }
}
