import Foundation
import SkeinCore
import Testing

extension ProcessTests {
    /// Harper's table TTL (`create_table` `expiration`, seconds): a record expires that long
    /// after it was last written; no read returns it, a write treats it as absent, and
    /// every node removes it on its own clock, without shipping deletes.
    @Suite(.serialized) struct Expiration {
        /// Every read path that could return record 1 of `db.t`: ids, value, conditions,
        /// SQL (planned by the store and by the gateway) and REST.
        static func visibleCounts(_ node: TestNode, _ db: String, _ t: String) async throws -> [Int] {
            let base: [String: JSON] = ["database": .string(db), "table": .string(t), "get_attributes": ["*"]]
            func count(_ extra: [String: JSON]) async throws -> Int {
                try await node.ok(.object(base.merging(extra) { $1 })).arrayValue?.count ?? -1
            }
            let byID = try await count(["operation": "search_by_id", "ids": [1]])
            let byValue = try await count(["operation": "search_by_value", "search_attribute": "name", "search_value": "Rex"])
            let byConditions = try await count(["operation": "search_by_conditions",
                                                "conditions": [["search_attribute": "id", "search_type": "greater_than", "search_value": 0]]])
            let sql = try await node.ok(["operation": "sql", "sql": .string("SELECT * FROM \(db).\(t) WHERE name = 'Rex'")]).arrayValue?.count ?? -1
            let joined = try await node.ok(["operation": "sql", "sql": .string("SELECT UPPER(name) AS n FROM \(db).\(t)")]).arrayValue?.count ?? -1
            let rest = try node.rest("GET", "/\(db)/\(t)/1").status == 200 ? 1 : 0
            return [byID, byValue, byConditions, sql, joined, rest]
        }

        @Test func expiredRecordsAreNotReadAndAreEvicted() async throws {
            try await withNode { node in
                let bad = try await node.fails(["operation": "create_table", "database": "ttl", "table": "bad", "primary_key": "id", "expiration": -1], 400)
                #expect(bad == "Expiration can not be negative")
                try await node.fails(["operation": "create_table", "database": "ttl", "table": "bad", "primary_key": "id", "expiration": "soon"], 400)
                try await node.ok(["operation": "create_table", "database": "ttl", "table": "dog", "primary_key": "id", "expiration": 2])
                let described = try await node.ok(["operation": "describe_table", "database": "ttl", "table": "dog"])
                #expect(described["expiration"] == "2s", "\(described)")
                _ = try await node.insert("ttl", "dog", [["id": 1, "name": "Rex"], ["id": 2, "name": "Ace"]])
                #expect(try await Self.visibleCounts(node, "ttl", "dog") == [1, 1, 2, 1, 2, 1])

                // Record 2 is written again a second later: its two seconds start again.
                try await Task.sleep(for: .seconds(1))
                let rewritten = try await node.ok(["operation": "update", "database": "ttl", "table": "dog", "records": [["id": 2, "age": 3]]])
                let rewrittenAt = try #require(rewritten["txn_time"]?.doubleValue)
                let gone = await eventually(timeout: 10, interval: .milliseconds(50)) {
                    try await node.byID("ttl", "dog", [1]).isEmpty
                }
                #expect(gone, "record 1 expires")
                let two = try await node.byID("ttl", "dog", [2])
                if Date().timeIntervalSince1970 * 1000 < rewrittenAt + 1800 {
                    #expect(two.first?["age"] == 3, "record 2 was written again later: \(two)")
                }
                _ = await eventually(timeout: 10, interval: .milliseconds(100)) { try await node.byID("ttl", "dog", [2]).isEmpty }
                #expect(try await Self.visibleCounts(node, "ttl", "dog") == [0, 0, 0, 0, 0, 0], "no read returns an expired record")

                // A write treats an expired record as absent: an update skips it, an insert writes it anew.
                let update = try await node.ok(["operation": "update", "database": "ttl", "table": "dog", "records": [["id": 1, "age": 9]]])
                #expect(update["skipped_hashes"] == [1], "\(update)")
                let insert = try await node.insert("ttl", "dog", [["id": 1, "name": "Max"]])
                #expect(insert["inserted_hashes"] == [1], "\(insert)")
                #expect(try await node.byID("ttl", "dog", [1]).first?["name"] == "Max")

                // Removed from storage, not only hidden; and no delete in the audit log.
                let evicted = await eventually(timeout: 15) {
                    try await node.ok(["operation": "describe_table", "database": "ttl", "table": "dog"])["record_count"] == 0
                }
                #expect(evicted, "expired records are evicted")
                let log = try await node.auditLog("ttl", "dog")
                #expect(!log.contains { $0["operation"] == "delete" }, "eviction is not a delete: \(log)")
                #expect(log.contains { $0["operation"] == "insert" }, "the writes are in it: \(log)")
            }
        }

        /// Expiry is judged by the node's clock, the one its writes are stamped with
        /// (`testing.clockOffsetMs` included), not the machine's: on a node ten minutes
        /// behind, a record written now on a table with a one-minute TTL is read.
        @Test func expiryFollowsTheNodesClock() async throws {
            try await withNode(config: ["testing.clockOffsetMs": "-600000"]) { node in
                try await node.ok(["operation": "create_table", "database": "ttl", "table": "dog", "primary_key": "id", "expiration": 60])
                _ = try await node.insert("ttl", "dog", [["id": 1, "name": "Rex"]])
                #expect(try await Self.visibleCounts(node, "ttl", "dog") == [1, 1, 1, 1, 1, 1])
                let update = try await node.ok(["operation": "update", "database": "ttl", "table": "dog", "records": [["id": 1, "age": 4]]])
                #expect(update["update_hashes"] == [1], "\(update)")
            }
        }

        @Test func eachNodeExpiresReplicatedRecordsWithoutShippingDeletes() async throws {
            try await withReplicatingPair { a, b in
                try await a.node.ok(["operation": "create_table", "database": "data", "table": "session", "primary_key": "id", "expiration": 2])
                // The TTL replicates with the table (streamed, or in a full copy's description).
                let ttl = try await pollUntil("the table and its TTL on node-b") { () -> JSON? in
                    let (status, d) = try await b.node.post(["operation": "describe_table", "database": "data", "table": "session"])
                    return status == 200 ? d["expiration"] : nil
                }
                #expect(ttl == "2s")
                _ = try await a.node.insert("data", "session", [["id": 1, "name": "Rex"]])
                _ = try await pollUntil("record 1 on node-b", timeout: 2) { try await record(b, "session", 1) }
                // Each node expires it on its own; neither sends the other a delete.
                for peer in [a, b] {
                    #expect(await eventually(timeout: 10, interval: .milliseconds(100)) { try await record(peer, "session", 1) == nil },
                            "expired on \(peer.name)")
                    #expect(await eventually(timeout: 15) { try await peer.count("session") == 0 }, "evicted on \(peer.name)")
                }
                // Nothing brings it back: neither node holds a newer write of it.
                try await Task.sleep(for: .seconds(2))
                for peer in [a, b] {
                    #expect(try await record(peer, "session", 1) == nil, "\(peer.name)")
                    #expect(try await peer.count("session") == 0, "\(peer.name)")
                }
                let log = try await a.node.auditLog("data", "session")
                #expect(log.compactMap { $0["operation"]?.stringValue } == ["insert"], "\(log)")
            }
        }
    }
}
