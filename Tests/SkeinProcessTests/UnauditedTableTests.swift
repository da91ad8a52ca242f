import Foundation
import SkeinCore
import Testing

extension ProcessTests {
    /// Harper's `create_table` `audit: false`: the table's writes stay out of the audit log,
    /// and since replication streams that log (Harper's too), its records stay on the node
    /// that wrote them; the table itself is created everywhere.
    @Suite(.serialized) struct UnauditedTables {
        @Test func anUnauditedTableKeepsItsRecordsOnItsNode() async throws {
            try await withReplicatingPair { a, b in
                try await a.node.fails(["operation": "create_table", "database": "data", "table": "scratch", "primary_key": "id", "audit": "no"], 400)
                try await a.node.ok(["operation": "create_table", "database": "data", "table": "scratch", "primary_key": "id", "audit": false])
                try await a.node.ok(["operation": "create_table", "database": "data", "table": "kept", "primary_key": "id"])
                let described = try await a.node.ok(["operation": "describe_table", "database": "data", "table": "scratch"])
                #expect(described["audit"] == false && described["replicate"] == false, "\(described)")
                let onB = try await pollUntil("the table on node-b") { () -> JSON? in
                    let (status, d) = try await b.node.post(["operation": "describe_table", "database": "data", "table": "scratch"])
                    return status == 200 && d["name"] != nil ? d : nil
                }
                #expect(onB["audit"] == false, "\(onB)")

                _ = try await a.node.insert("data", "scratch", [["id": 1, "name": "local"]])
                try await a.node.ok(["operation": "delete", "database": "data", "table": "scratch", "ids": [1]])
                _ = try await a.node.insert("data", "scratch", [["id": 2, "name": "local"]])
                _ = try await a.node.insert("data", "kept", [["id": 1]])
                let log = try await a.node.auditLog("data", "scratch")
                #expect(log.isEmpty, "no audit entries of its records: \(log)")
                // The audited table's record arrives; the unaudited one's never does.
                _ = try await pollUntil("the audited record on node-b") { try await record(b, "kept", 1) }
                try await Task.sleep(for: .seconds(1))
                #expect(try await record(b, "scratch", 2) == nil)
                #expect(try await record(a, "scratch", 2)?["name"] == "local")
            }
        }

        /// A node that joins later copies the table (unaudited, empty) but not its records.
        @Test func aNodeJoiningLaterCopiesTheTableButNotItsRecords() async throws {
            let pki = try TestPKI(name: "Skein Test CA")
            defer { pki.remove() }
            try await withPeers(["node-a", "node-b"]) { peers in
                let (a, b) = (peers[0], peers[1])
                try a.replicate(with: [b], pki: pki)
                try await a.node.ok(["operation": "create_table", "database": "data", "table": "scratch", "primary_key": "id", "audit": false])
                try await a.node.ok(["operation": "create_table", "database": "data", "table": "kept", "primary_key": "id"])
                _ = try await a.node.insert("data", "scratch", [["id": 1, "name": "local"]])
                _ = try await a.node.insert("data", "kept", [["id": 1]])
                try b.replicate(with: [a], pki: pki)
                _ = try await pollUntil("the audited record on node-b") { try await record(b, "kept", 1) }
                let onB = try await pollUntil("the unaudited table on node-b") { () -> JSON? in
                    let (status, d) = try await b.node.post(["operation": "describe_table", "database": "data", "table": "scratch"])
                    return status == 200 && d["name"] != nil ? d : nil
                }
                #expect(onB["audit"] == false, "\(onB)")
                #expect(try await record(b, "scratch", 1) == nil)
                #expect(try await b.count("scratch") == 0)
            }
        }
    }
}
