import Foundation
import SkeinCore
import Testing

extension ProcessTests {
    /// auditd's timer prunes by age (`logging.auditRetention`) and by size (`logging.maxSize`).
    /// Each test starts its own node with that configuration.
    @Suite struct AuditPruning {
        @Test func retentionPrunesOldEntriesAndKeepsData() async throws {
            try await withNode(config: ["logging.auditRetention": "2s"]) { node in
                try await node.freshTable("prn", "old")
                _ = try await node.insert("prn", "old", (1...20).map { ["id": JSON($0), "v": "x"] })
                let first = try await node.auditLog("prn", "old")
                #expect(first.contains { $0["operation"]?.stringValue == "insert" })

                try await Task.sleep(for: .seconds(3))
                // The timer runs every max(1 s, retention / 10).
                let gone = await eventually(timeout: 15) {
                    await node.pollAuditLog("prn", "old")?.isEmpty == true
                }
                #expect(gone, "entries older than the retention must be pruned")
                // Pruning touches the log only.
                #expect(try await node.byID("prn", "old", (1...20).map { JSON($0) }).count == 20)
                let t = try await node.ok(["operation": "describe_table", "database": "prn", "table": "old"])
                #expect(t["record_count"]?.intValue == 20)
                // New writes are logged again.
                _ = try await node.insert("prn", "old", [["id": 21]])
                let fresh = try await node.auditHistory("prn", "old", ["search_type": "hash_value", "search_values": [21]])
                #expect(fresh["21"]?.count == 1)
            }
        }

        @Test func sizeLimitPrunesOldestFirst() async throws {
            // Pruning runs every retention / 10 (at most 60 s): a 20 s retention prunes every
            // 2 s, and is long enough to keep the newest entries by age.
            try await withNode(config: ["logging.maxSize": "100K", "logging.auditRetention": "20s"]) { node in
                try await node.freshTable("prn", "big")
                let payload = String(repeating: "p", count: 1000)
                // 50 inserts of 10 records of ~1 KB: ~500 KB of audit entries.
                for batch in 0..<50 {
                    let records: [JSON] = (0..<10).map { ["id": JSON(batch * 10 + $0), "payload": .string(payload)] }
                    _ = try await node.insert("prn", "big", records)
                }
                let newest = JSON(499)
                var kept: [String: JSON] = [:]
                let pruned = await eventually(timeout: 15) {
                    kept = await node.pollAudit("prn", "big", ["search_type": "hash_value", "search_values": [0, newest]])?.objectValue ?? [:]
                    return kept["0"]?.count == 0
                }
                #expect(pruned, "the oldest entry must be pruned once the log passes logging.maxSize: \(kept)")
                #expect(kept["499"]?.count == 1, "the newest entry must stay")
                let all = try await node.auditLog("prn", "big")
                let ids = all.flatMap { $0["hash_values"]?.arrayValue ?? [] }.compactMap(\.intValue)
                #expect(ids.count < 500 && ids.count >= 10, "\(ids.count) ids left")
                // What is left is a contiguous run of the newest entries.
                if let lowest = ids.min() { #expect(ids == Array(lowest...499)) }
                #expect(try await node.byID("prn", "big", [0, newest]).count == 2, "pruning never deletes data")
            }
        }
    }
}
