import Foundation
import SkeinCore
import Testing

extension ProcessTests {
    /// read_audit_log and delete_audit_logs_before; each test has its own table in `aud`.
    @Suite(.node())
    struct AuditLog {
        static func now() -> Double { (Date().timeIntervalSince1970 * 1000).rounded(.down) }

        @Test func readWithoutFilter() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("aud", "all")
            _ = try await node.insert("aud", "all", [["id": 1, "name": "a"], ["id": 2, "name": "b"]])
            try await node.ok(["operation": "update", "database": "aud", "table": "all", "records": [["id": 1, "name": "a2"]]])
            try await node.ok(["operation": "upsert", "database": "aud", "table": "all", "records": [["id": 3, "name": "c"]]])
            try await node.ok(["operation": "delete", "database": "aud", "table": "all", "ids": [2]])
            // A write to another table does not show up.
            try await node.freshTable("aud", "other")
            _ = try await node.insert("aud", "other", [["id": 1]])

            try await node.ok(["operation": "create_attribute", "database": "aud", "table": "all", "attribute": "color"])

            // Record changes only, as Harper's audit log: the table's creation and the new attribute are not listed.
            let data = try await node.auditLog("aud", "all")
            #expect(data.compactMap { $0["operation"]?.stringValue } == ["insert", "update", "upsert", "delete"], "\(data)")
            let byUser = try await node.auditHistory("aud", "all", ["search_type": "username", "search_values": [.string(node.adminUser)]])
            #expect(byUser[node.adminUser]?.arrayValue?.compactMap { $0["operation"]?.stringValue } == ["insert", "update", "upsert", "delete"],
                    "\(byUser)")
            #expect(data.allSatisfy { $0["user_name"]?.stringValue == node.adminUser })
            #expect(data.allSatisfy { $0["timestamp"]?.doubleValue != nil })
            let timestamps = data.compactMap { $0["timestamp"]?.doubleValue }
            #expect(timestamps == timestamps.sorted(), "entries come oldest first")
            #expect(data[0]["hash_values"] == [1, 2])
            #expect(data[0]["records"]?.column("name") == ["a", "b"])
            #expect(data[1]["hash_values"] == [1])
            #expect(data[1]["records"]?.column("name") == ["a2"])
            #expect(data[1]["original_records"]?.column("name") == ["a"], "an update keeps the record before it")
            #expect(data[2]["hash_values"] == [3])
            #expect(data[3]["hash_values"] == [2])
            #expect(data[3]["original_records"]?.column("name") == ["b"])
        }

        @Test func searchByTimestamp() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("aud", "ts")
            _ = try await node.insert("aud", "ts", [["id": 1]])
            try await Task.sleep(for: .milliseconds(30))
            let middle = Self.now()
            try await Task.sleep(for: .milliseconds(30))
            _ = try await node.insert("aud", "ts", [["id": 2]])
            try await Task.sleep(for: .milliseconds(30))
            let end = Self.now()
            try await Task.sleep(for: .milliseconds(30))
            _ = try await node.insert("aud", "ts", [["id": 3]])

            let after = try await node.auditLog("aud", "ts", ["search_type": "timestamp", "search_values": [.number(middle)]])
            #expect(after.flatMap { $0["hash_values"]?.arrayValue ?? [] } == [2, 3])
            let between = try await node.auditLog("aud", "ts", ["search_type": "timestamp",
                                                                "search_values": [.number(middle), .number(end)]])
            #expect(between.flatMap { $0["hash_values"]?.arrayValue ?? [] } == [2])
            #expect(between.allSatisfy { ($0["timestamp"]?.doubleValue ?? 0) >= middle && ($0["timestamp"]?.doubleValue ?? .infinity) <= end })
        }

        @Test func searchByUsername() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("aud", "usr")
            try await node.ok(["operation": "add_user", "username": "auditor", "password": "pw-auditor", "role": "super_user", "active": true])
            _ = try await node.insert("aud", "usr", [["id": 1]])
            let (status, _) = try await node.post(["operation": "insert", "database": "aud", "table": "usr", "records": [["id": 2]]],
                                                  user: "auditor", password: "pw-auditor")
            #expect(status == 200)
            // Harper: an object keyed by user name (9_transactions.mjs:277-289).
            let mine = try await node.auditHistory("aud", "usr", ["search_type": "username", "search_values": ["auditor"]])
            #expect(Array(mine.keys) == ["auditor"])
            let entries = mine["auditor"]?.arrayValue ?? []
            #expect(entries.count == 1)
            #expect(entries.first?["user_name"]?.stringValue == "auditor")
            #expect(entries.first?["hash_values"] == [2])
            let both = try await node.auditHistory("aud", "usr", ["search_type": "username", "search_values": ["auditor", .string(node.adminUser)]])
            #expect(both["auditor"]?.count == 1)
            #expect(both[node.adminUser]?.arrayValue?.filter { $0["operation"]?.stringValue == "insert" }.count == 1)
            let nobody = try await node.auditHistory("aud", "usr", ["search_type": "username", "search_values": ["nobody"]])
            #expect(nobody.isEmpty)
        }

        @Test func searchByHashValue() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("aud", "hv")
            _ = try await node.insert("aud", "hv", [["id": 1, "v": 1], ["id": 2, "v": 1]])
            try await node.ok(["operation": "update", "database": "aud", "table": "hv", "records": [["id": 2, "v": 2]]])
            _ = try await node.insert("aud", "hv", [["id": 3, "v": 1]])
            // Harper: an object keyed by id, each id's own history (9_transactions.mjs:211-228, 292-302).
            let two = try await node.auditHistory("aud", "hv", ["search_type": "hash_value", "search_values": [2]])
            let history = two["2"]?.arrayValue ?? []
            #expect(history.compactMap { $0["operation"]?.stringValue } == ["insert", "update"])
            #expect(history.first?["hash_values"] == [2], "the insert of 1 and 2 shows record 2 alone")
            #expect(history.first?["records"]?.arrayValue?.first?["id"] == 2)
            #expect(history.last?["records"]?.arrayValue?.first?["v"] == 2)
            #expect(history.last?["original_records"]?.arrayValue?.first?["v"] == 1)
            let three = try await node.auditHistory("aud", "hv", ["search_type": "hash_value", "search_values": [3, 77]])
            #expect(three["3"]?.count == 1)
            #expect(three["77"] == [], "every id asked for is a key")
        }

        /// The keyed shapes are one object, not an array streamed in pages: a history longer
        /// than a page (1,000 rows) still comes whole.
        @Test func keyedShapesComeWhole() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("aud", "whole")
            let ids = (1...1_100).map { JSON($0) }
            _ = try await node.insert("aud", "whole", ids.map { ["id": $0] })
            let byID = try await node.auditHistory("aud", "whole", ["search_type": "hash_value", "search_values": .array(ids)])
            #expect(byID.count == 1_100)
            #expect(byID.values.allSatisfy { $0.count == 1 })
            try await node.ok(["operation": "update", "database": "aud", "table": "whole", "records": .array(ids.map { ["id": $0, "n": 1] })])
            let byUser = try await node.auditHistory("aud", "whole", ["search_type": "username", "search_values": [.string(node.adminUser)]])
            #expect(byUser[node.adminUser]?.arrayValue?.last?["records"]?.count == 1_100)
            let plain = try await node.auditLog("aud", "whole")
            #expect(plain.compactMap { $0["operation"]?.stringValue }.suffix(2) == ["insert", "update"])
        }

        @Test func limit() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("aud", "lim")
            for i in 1...5 { _ = try await node.insert("aud", "lim", [["id": JSON(i)]]) }
            let all = try await node.auditHistory("aud", "lim", ["search_type": "hash_value", "search_values": [1, 2, 3, 4, 5]])
            #expect(all.values.map(\.count) == [1, 1, 1, 1, 1])
            let two = try await node.auditHistory("aud", "lim", ["search_type": "hash_value", "search_values": [1, 2, 3, 4, 5], "limit": 2])
            #expect(["1", "2", "3", "4", "5"].map { two[$0]?.count } == [1, 1, 0, 0, 0], "limit keeps the oldest")
            let unfiltered = try await node.auditLog("aud", "lim", ["limit": 3])
            #expect(unfiltered.count == 3)
            let zero = try await node.auditLog("aud", "lim", ["limit": 0])
            #expect(zero.isEmpty)
        }

        @Test func deleteAuditLogsBefore() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("aud", "dlb")
            try await node.freshTable("aud", "keep")
            _ = try await node.insert("aud", "dlb", [["id": 1]])
            _ = try await node.insert("aud", "keep", [["id": 1]])
            try await Task.sleep(for: .milliseconds(30))
            let cut = Self.now()
            try await Task.sleep(for: .milliseconds(30))
            _ = try await node.insert("aud", "dlb", [["id": 2]])

            let job = try await node.runJob(["operation": "delete_audit_logs_before", "database": "aud", "table": "dlb", "timestamp": .number(cut)])
            #expect(job["status"] == "COMPLETE" && job["message"]?.stringValue?.hasPrefix("Successfully completed") == true, "\(job)")
            #expect((job["result"]?["deleted"]?.intValue ?? 0) >= 1, "dlb's entries before the cut: \(job)")
            let left = try await node.auditLog("aud", "dlb")
            #expect(left.allSatisfy { ($0["timestamp"]?.doubleValue ?? 0) >= cut })
            #expect(left.flatMap { $0["hash_values"]?.arrayValue ?? [] } == [2])
            // Other tables keep their entries, and the data stays.
            let kept = try await node.auditLog("aud", "keep")
            #expect(kept.contains { $0["operation"]?.stringValue == "insert" })
            #expect(try await node.byID("aud", "dlb", [1, 2]).ids() == [1, 2])
        }

        /// The count is of record changes, what read_audit_log lists: the table's creation and
        /// its new attribute are neither counted nor deleted.
        @Test func deleteAuditLogsBeforeCountsRecordChangesOnly() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("aud", "dcount")
            try await node.ok(["operation": "create_attribute", "database": "aud", "table": "dcount", "attribute": "color"])
            _ = try await node.insert("aud", "dcount", [["id": 1], ["id": 2]])
            try await node.ok(["operation": "update", "database": "aud", "table": "dcount", "records": [["id": 1, "color": "red"]]])
            #expect(try await node.auditLog("aud", "dcount").count == 2)
            try await Task.sleep(for: .milliseconds(30))
            let cut = Self.now()
            try await Task.sleep(for: .milliseconds(30))

            let job = try await node.runJob(["operation": "delete_audit_logs_before", "database": "aud", "table": "dcount", "timestamp": .number(cut)])
            #expect(job["status"] == "COMPLETE", "\(job)")
            #expect(job["result"]?["deleted"]?.intValue == 2, "the insert and the update, not create_table/create_attribute: \(job)")
            #expect(job["message"]?.stringValue?.contains("deleted 2 audit log entries") == true, "\(job)")
            #expect(try await node.auditLog("aud", "dcount").isEmpty)
            // Nothing left to delete: 0, though the schema entries are still in the log.
            let again = try await node.runJob(["operation": "delete_audit_logs_before", "database": "aud", "table": "dcount", "timestamp": .number(cut)])
            #expect(again["result"]?["deleted"]?.intValue == 0, "\(again)")
            #expect(try await node.ok(["operation": "describe_table", "database": "aud", "table": "dcount"])["attributes"]?.column("attribute")
                .contains("color") == true)
        }

        @Test func unknownTableIs404() async throws {
            let node = try TestNode.shared()
            try await node.fails(["operation": "read_audit_log", "database": "aud", "table": "never_existed"], 404)
            try await node.fails(["operation": "read_audit_log", "database": "no_such_db", "table": "x"], 404)
        }

        @Test func droppedTableHistoryStaysReadable() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("aud", "gone")
            _ = try await node.insert("aud", "gone", [["id": 1]])
            try await node.ok(["operation": "drop_table", "database": "aud", "table": "gone"])
            let log = try await node.auditLog("aud", "gone")
            #expect(log.compactMap { $0["operation"]?.stringValue } == ["insert"], "its records' history; the drop is no record change: \(log)")
        }
    }
}
