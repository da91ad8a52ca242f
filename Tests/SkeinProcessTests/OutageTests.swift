import Foundation
import SkeinCore
import Testing

extension ProcessTests {
    /// A stopped store or auditd gives 503 "<service> unavailable" and the node recovers
    /// when it comes back. The suite's node is stopped and restarted, so its tests run one
    /// after another and each leaves every service running.
    @Suite(.node(config: ["services.timeoutMs": "3000"]))
    struct Outage {
        @Test func storeDownThenBack() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("out", "st")
            _ = try await node.insert("out", "st", [["id": 1, "name": "kept"]])

            let status = await node.stop(.store)
            #expect(status == 0, "the store exits 0 on SIGTERM")
            for body: JSON in [
                ["operation": "search_by_id", "database": "out", "table": "st", "ids": [1]],
                ["operation": "insert", "database": "out", "table": "st", "records": [["id": 2]]],
                ["operation": "describe_all"],
            ] {
                let r = try await node.post(body)
                #expect(r.status == 503, "\(body) → \(r.status) \(r.json)")
                #expect(r.json == ["error": "store unavailable"])
            }
            let (health, data) = try await node.get("/health")
            #expect(health == 503)
            #expect(TestNode.parse(data)["store"]?.stringValue == "unavailable")
            #expect(TestNode.parse(data)["auditd"]?.stringValue == "up")

            try node.start(.store)
            let back = await eventually(timeout: 10) {
                try await node.post(["operation": "search_by_id", "database": "out", "table": "st", "ids": [1]]).status == 200
            }
            #expect(back, "requests must succeed again once the store is back")
            #expect(try await node.byID("out", "st", [1]).first?["name"]?.stringValue == "kept")
            #expect(try await node.byID("out", "st", [2]).isEmpty, "the insert that got 503 must not have happened")
            _ = try await node.insert("out", "st", [["id": 3]])
            #expect(await eventually(timeout: 10) { try await node.get("/health").status == 200 })
        }

        @Test func auditdDownThenBack() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("out", "ad")
            _ = try await node.insert("out", "ad", [["id": 1]])

            let status = await node.stop(.auditd)
            #expect(status == 0, "auditd exits 0 on SIGTERM")
            let r = try await node.post(["operation": "read_audit_log", "database": "out", "table": "ad"])
            #expect(r.status == 503, "\(r.status) \(r.json)")
            #expect(r.json == ["error": "auditd unavailable"])
            // A job (Harper's), but its first step runs before it starts: refused at once.
            let d = try await node.post(["operation": "delete_audit_logs_before", "database": "out", "table": "ad", "timestamp": 1])
            #expect(d.status == 503, "\(d)")
            // The store keeps working, and still logs.
            _ = try await node.insert("out", "ad", [["id": 2]])
            #expect(try await node.byID("out", "ad", [1, 2]).count == 2)
            #expect(try await node.get("/health").status == 503)

            try node.start(.auditd)
            var log: [JSON] = []
            let back = await eventually(timeout: 10) {
                log = await node.pollAuditLog("out", "ad") ?? []
                return !log.isEmpty
            }
            #expect(back, "read_audit_log must succeed again once auditd is back")
            let ids = log.filter { $0["operation"]?.stringValue == "insert" }.flatMap { $0["hash_values"]?.arrayValue ?? [] }
            #expect(ids == [1, 2], "writes made while auditd was down are in the log")
            #expect(await eventually(timeout: 10) { try await node.get("/health").status == 200 })
        }

        @Test func storeKilledThenBack() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("out", "kl")
            _ = try await node.insert("out", "kl", [["id": 1]])
            await node.kill(.store)
            let r = try await node.post(["operation": "search_by_id", "database": "out", "table": "kl", "ids": [1]])
            #expect(r.status == 503)
            #expect(r.json == ["error": "store unavailable"])
            try node.start(.store)
            #expect(await eventually(timeout: 10) {
                try await node.post(["operation": "search_by_id", "database": "out", "table": "kl", "ids": [1]]).json.ids() == [1]
            })
        }

        @Test func gatewayRestartKeepsData() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("out", "gw")
            _ = try await node.insert("out", "gw", [["id": 1]])
            let status = await node.stop(.gateway)
            #expect(status == 0, "the gateway exits 0 on SIGTERM")
            try node.start(.gateway)
            #expect(await eventually(timeout: 15) { try await node.get("/health").status == 200 })
            #expect(try await node.byID("out", "gw", [1]).count == 1)
        }
    }
}
