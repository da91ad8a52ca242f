import Foundation
import SkeinCore
import Testing

extension ProcessTests {
    /// Writes whose outcome a client cannot know: 504 (not 503) when the store got the
    /// request and did not answer in time, no write started after its caller stopped
    /// waiting, and an `Idempotency-Key` that makes a retry return the first result instead
    /// of writing again, across store and gateway restarts, for a bounded window.
    @Suite struct Idempotency {
        static func key(_ k: String) -> [String: String] { ["Idempotency-Key": k] }

        @Test func aRetryReturnsTheFirstResultAcrossRestarts() async throws {
            try await withNode { node in
                try await node.freshTable("idem", "t")
                // No id: the store makes one, so a second execution would make another record.
                let insert: JSON = ["operation": "insert", "database": "idem", "table": "t", "records": [["name": "once"]]]
                let first = try await node.post(insert, headers: Self.key("order-1"))
                #expect(first.status == 200, "\(first.json)")
                let id = try #require(first.json["inserted_hashes"]?.arrayValue?.first)
                for restart in ["none", "store", "gateway"] {
                    if restart == "store" { #expect(await node.stop(.store) == 0); try node.start(.store) }
                    if restart == "gateway" { #expect(await node.stop(.gateway) == 0); try node.start(.gateway) }
                    var again: (status: Int, json: JSON) = (0, .null)
                    #expect(await eventually(timeout: 15) {
                        again = try await node.post(insert, headers: Self.key("order-1"))
                        return again.status == 200
                    }, "after restart of \(restart): \(again)")
                    #expect(again.json == first.json, "after restart of \(restart)")
                }
                let all = try await node.ok(["operation": "search_by_value", "database": "idem", "table": "t", "attribute": "name", "value": "once"])
                #expect(all.arrayValue?.count == 1 && all.arrayValue?.first?["id"] == id, "written once: \(all)")

                // Another key is another write; the same key for another request is refused.
                #expect(try await node.post(insert, headers: Self.key("order-2")).json["inserted_hashes"]?.arrayValue?.first != id)
                let other: JSON = ["operation": "insert", "database": "idem", "table": "t", "records": [["name": "other"]]]
                let reused = try await node.post(other, headers: Self.key("order-1"))
                #expect(reused.status == 422 && reused.json["error"]?.stringValue?.contains("different request") == true, "\(reused)")
                for bad in ["has space", String(repeating: "k", count: 201), "é"] {
                    let r = try await node.post(other, headers: Self.key(bad))
                    #expect(r.status == 400 && r.json["error"]?.stringValue?.contains("Idempotency-Key") == true, "\(bad): \(r)")
                }
                let none = try await node.ok(["operation": "search_by_value", "database": "idem", "table": "t", "attribute": "name", "value": "other"])
                #expect(none.arrayValue?.isEmpty == true, "refused requests wrote nothing")
            }
        }

        @Test func theWindowEnds() async throws {
            try await withNode(config: ["operationsApi.idempotencyWindow": "1s"]) { node in
                try await node.freshTable("idem", "w")
                let insert: JSON = ["operation": "insert", "database": "idem", "table": "w", "records": [["name": "x"]]]
                let first = try await node.post(insert, headers: Self.key("k"))
                try await Task.sleep(for: .milliseconds(1500))
                let later = try await node.post(insert, headers: Self.key("k"))
                #expect(later.status == 200 && later.json != first.json, "after the window a key is new: \(later)")
            }
        }

        @Test func aWriteWhoseReplyIsLostIs504AndNotStartedLate() async throws {
            try await withNode(config: ["services.timeoutMs": "1000"]) { node in
                try await node.freshTable("idem", "p")
                let insert: JSON = ["operation": "insert", "database": "idem", "table": "p", "records": [["id": 7, "name": "late"]]]
                node.pause(.store)
                let clock = ContinuousClock()
                let start = clock.now
                let lost = try await node.post(insert, headers: Self.key("late-7"))
                let lostAfter = clock.now - start
                let read = try await node.post(["operation": "search_by_id", "database": "idem", "table": "p", "ids": [7]])
                let readAfter = clock.now - start
                node.pause(.store, false)
                #expect(lost.status == 504 && lost.json["error"]?.stringValue?.contains("outcome is unknown") == true, "\(lost) after \(lostAfter)")
                #expect(read.status == 504, "\(read) after \(readAfter)")
                // The store saw the insert only after its deadline: it did not start it.
                try await Task.sleep(for: .milliseconds(500))
                #expect(try await node.byID("idem", "p", [7]).isEmpty, "a write whose caller stopped waiting must not start")
                let retry = try await node.post(insert, headers: Self.key("late-7"))
                #expect(retry.status == 200 && retry.json["inserted_hashes"] == [7], "\(retry)")
                #expect(try await node.post(insert, headers: Self.key("late-7")).json == retry.json)
            }
        }
    }
}
