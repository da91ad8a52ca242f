import Foundation
import SkeinCore
import Testing

/// 6,000 records of ~1 KB each (about 6 MB): more than a page (1,000 rows or 1 MB) many
/// times over, and more than loopback's socket buffers hold.
@Sendable func seedPaged(_ node: TestNode) async throws {
    try await node.ok(["operation": "create_table", "database": "big", "table": "row", "primary_key": "id"])
    let filler = String(repeating: "x", count: 1000)
    for batch in 0..<30 {
        let records: [JSON] = (0..<200).map { i in
            let id = batch * 200 + i
            return ["id": JSON(id), "group": JSON(id % 7), "filler": .string(filler)]
        }
        _ = try await node.insert("big", "row", records)
    }
}

extension ProcessTests {
    /// Long results are streamed a page at a time (docs/INTERFACES.md §5 "Paged results"):
    /// no process holds a whole table, and the HTTP body is one JSON array, chunked.
    @Suite(.node(setup: seedPaged), .serialized)
    struct PagedResults {
        static let rows = 6000

        @Test func aWholeTableComesChunkedAsOneArray() async throws {
            let node = try TestNode.shared()
            let http = try RawHTTP(port: node.port)
            let body = #"{"operation":"search_by_value","database":"big","table":"row","attribute":"id","value":"*","get_attributes":["id"]}"#
            http.send(RawHTTP.post(body, authorization: TestNode.basic(node.adminUser, node.adminPassword)))
            let (text, _) = http.read(timeout: 30)
            let head = text.components(separatedBy: "\r\n\r\n").first?.lowercased() ?? ""
            #expect(text.hasSuffix("\r\n0\r\n\r\n"), "the last chunk came")
            #expect(head.hasPrefix("http/1.1 200"))
            #expect(head.contains("transfer-encoding: chunked"), "\(head)")
            #expect(!head.contains("content-length"))

            let all = try await node.ok(["operation": "search_by_value", "database": "big", "table": "row", "attribute": "id", "value": "*"])
            let ids = all.arrayValue?.compactMap { $0["id"]?.intValue } ?? []
            #expect(ids == Array(0..<Self.rows), "every record once, in key order")
            #expect(all.arrayValue?.first?["filler"]?.stringValue?.count == 1000)
        }

        @Test func pagedSearchesKeepOffsetLimitAndSort() async throws {
            let node = try TestNode.shared()
            let sorted = try await node.ok(["operation": "search_by_conditions", "database": "big", "table": "row", "get_attributes": ["id", "group"],
                                            "conditions": [["attribute": "group", "comparator": "less_than", "value": 3]],
                                            "sort": ["attribute": "id", "descending": true], "offset": 10, "limit": 2500])
            let expected = (0..<Self.rows).filter { $0 % 7 < 3 }.reversed().dropFirst(10).prefix(2500)
            #expect(sorted.arrayValue?.compactMap { $0["id"]?.intValue } == Array(expected))
            let byValue = try await node.ok(["operation": "search_by_value", "database": "big", "table": "row", "attribute": "group", "value": 4,
                                             "get_attributes": ["id"], "offset": 5])
            #expect(byValue.arrayValue?.compactMap { $0["id"]?.intValue } == Array((0..<Self.rows).filter { $0 % 7 == 4 }.dropFirst(5)))
            let ids = try await node.ok(["operation": "search_by_id", "database": "big", "table": "row", "ids": .array((0..<3000).map { JSON($0 * 2) }),
                                         "get_attributes": ["id"]])
            #expect(ids.arrayValue?.count == 3000)
        }

        @Test func theAuditLogComesInPages() async throws {
            let node = try TestNode.shared()
            // 30 entries of ~200 KB: several pages of about 1 MB.
            let log = try await node.ok(["operation": "read_audit_log", "database": "big", "table": "row"])
            let inserts = log.arrayValue?.filter { $0["operation"] == "insert" } ?? []
            #expect(inserts.count == 30)
            #expect(inserts.reduce(0) { $0 + ($1["records"]?.arrayValue?.count ?? 0) } == Self.rows)
            let limited = try await node.ok(["operation": "read_audit_log", "database": "big", "table": "row", "limit": 12])
            #expect(limited.arrayValue?.count == 12)
            #expect(limited.arrayValue ?? [] == Array((log.arrayValue ?? []).prefix(12)))
        }

        /// The next page is read only when the client took the last one; a client that
        /// leaves mid-way frees the store's cursor at once.
        @Test func aClientThatStopsReadingHoldsOnePageAndLeavingFreesIt() async throws {
            let node = try TestNode.shared()
            var http: RawHTTP? = try RawHTTP(port: node.port, receiveBuffer: 4096)
            let body = #"{"operation":"search_by_value","database":"big","table":"row","attribute":"id","value":"*"}"#
            http?.send(RawHTTP.post(body, authorization: TestNode.basic(node.adminUser, node.adminPassword)))
            // Not reading: the gateway stops asking for pages once loopback's buffers are full.
            var open = 0
            for _ in 0..<300 where open == 0 {  // up to 30 s on a loaded machine
                try await Task.sleep(for: .milliseconds(100))
                open = try await Self.openCursors(node)
            }
            #expect(open == 1, "the store keeps the cursor of the unfinished result")
            http = nil
            var left = open
            for _ in 0..<300 where left != 0 {
                try await Task.sleep(for: .milliseconds(100))
                left = try await Self.openCursors(node)
            }
            #expect(left == 0, "the cursor is dropped when the client leaves")
            #expect(http == nil)
        }

        /// A client that neither reads nor leaves is cut off after the request time limit
        /// (`operationsApi.network.timeout`), and its cursor goes with it.
        @Test func aClientThatNeverReadsIsCutOff() async throws {
            try await withNode(config: ["operationsApi.network.timeout": "1500"]) { node in
                try await seedPaged(node)
                let http = try RawHTTP(port: node.port, receiveBuffer: 4096)
                let body = #"{"operation":"search_by_value","database":"big","table":"row","attribute":"id","value":"*"}"#
                http.send(RawHTTP.post(body, authorization: TestNode.basic(node.adminUser, node.adminPassword)))
                // Reads nothing for a while, then finds the connection closed mid-body (only the
                // gateway's stall limit closes it: this client never does). Timing-free checks:
                // on a loaded machine the stream may take long to fill the buffers.
                try await Task.sleep(for: .seconds(3))
                var closed = false
                var received = 0
                let deadline = Date().addingTimeInterval(30)
                while !closed, Date() < deadline {
                    let (text, c) = http.read(timeout: 0.2)
                    received += text.utf8.count
                    closed = c
                }
                #expect(closed, "the gateway closed the stalled connection")
                #expect(received < 6_000_000, "before the whole result went out")
                let left = try await pollUntil("the store to drop the cursor", timeout: 15) { () -> Int? in
                    let n = try await Self.openCursors(node)
                    return n == 0 ? n : nil
                }
                #expect(left == 0)
            }
        }

        static func openCursors(_ node: TestNode) async throws -> Int {
            let info = try await node.ok(["operation": "system_information"])
            return info["store"]?["open_result_cursors"]?.intValue ?? -1
        }
    }
}
