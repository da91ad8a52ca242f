import Foundation
import SkeinCore
import Testing

extension ProcessTests {
    /// system_information, get_configuration, read_log, cluster_status, /health, /metrics.
    @Suite(.node(config: ["logging.auditRetention": "12h"]))
    struct System {
        @Test func systemInformation() async throws {
            let node = try TestNode.shared()
            let info = try await node.ok(["operation": "system_information"])
            #expect(info["system"]?["node_name"]?.stringValue == "test-node")
            #expect((info["system"]?["cpus"]?.intValue ?? 0) >= 1)
            #expect(info["skein"]?["version"]?.stringValue != nil)
            #expect(info["store"]?["status"]?.stringValue == "ok")
            #expect(info["store"]?["databases"]?.arrayValue?.contains("system") == true)
        }

        @Test func getConfiguration() async throws {
            let node = try TestNode.shared()
            let c = try await node.ok(["operation": "get_configuration"])
            #expect(c["rootPath"]?.stringValue == node.root)
            #expect(c["operationsApi"]?["network"]?["port"]?.intValue == node.port)
            #expect(c["operationsApi"]?["network"]?["host"]?.stringValue == "127.0.0.1")
            #expect(c["replication"]?["hostname"]?.stringValue == "test-node")
            #expect(c["logging"]?["level"]?.stringValue == "debug")
            #expect(c["logging"]?["auditRetention"]?.intValue == 43_200)
            #expect(c["services"]?["store"]?.stringValue?.hasPrefix("ipc://") == true)
            #expect(!c.text.contains(node.adminPassword), "the configuration must not show the admin password")
        }

        @Test func readLogFiltersByServiceAndLimits() async throws {
            let node = try TestNode.shared()
            for service in ["store", "auditd", "gateway"] {
                let lines = try #require(try await node.ok(["operation": "read_log", "service": .string(service)]).arrayValue)
                #expect(!lines.isEmpty, "no \(service) lines")
                #expect(lines.allSatisfy { $0["service"]?.stringValue == service }, "\(service): \(lines.prefix(3))")
                #expect(lines.allSatisfy { $0["timestamp"]?.stringValue != nil && $0["level"]?.stringValue != nil && $0["message"] != nil })
            }
            let limited = try await node.ok(["operation": "read_log", "limit": 3])
            #expect(limited.count == 3)
            let all = try await node.ok(["operation": "read_log"])
            let services = Set(all.column("service").compactMap(\.stringValue))
            #expect(services.isSuperset(of: ["store", "auditd", "gateway"]))
            let stamps = all.column("timestamp").compactMap(\.stringValue)
            #expect(stamps == stamps.sorted(), "ascending by default")
            let desc = try await node.ok(["operation": "read_log", "order": "desc", "limit": 5]).column("timestamp").compactMap(\.stringValue)
            #expect(desc == desc.sorted(by: >))
            let info = try await node.ok(["operation": "read_log", "level": "info", "service": "store"])
            #expect(info.count > 0)
            #expect(info.column("level").allSatisfy { $0 == "info" })
            let future = (Date().timeIntervalSince1970 + 3600) * 1000
            #expect(try await node.ok(["operation": "read_log", "from": .number(future)]) == [])
            #expect(try await node.ok(["operation": "read_log", "until": 0]) == [])
            #expect(try await node.ok(["operation": "read_log", "until": .number(future), "limit": 1]).count == 1)
            // The first three lines first: lines logged meanwhile only come after them. Wait
            // until the store has logged three (a loaded machine read two, then a third came
            // before the next read and was in its page).
            let firstThree: JSON = ["operation": "read_log", "service": "store", "limit": 3]
            _ = await eventually(timeout: 10, interval: .milliseconds(50)) {
                (try await node.post(firstThree).json.arrayValue?.count ?? 0) >= 3
            }
            let first3 = try await node.ok(firstThree)
            let skipped = try await node.ok(["operation": "read_log", "service": "store", "start": 1, "limit": 2])
            #expect(skipped.arrayValue == Array((first3.arrayValue ?? []).dropFirst().prefix(2)))
        }

        @Test func clusterStatus() async throws {
            let node = try TestNode.shared()
            let s = try await node.ok(["operation": "cluster_status"])
            #expect(s["is_enabled"] == false)
            #expect(s["node_name"]?.stringValue == "test-node")
            #expect(s["connections"] == [])
        }

        @Test func health() async throws {
            let node = try TestNode.shared()
            let (status, data) = try await node.get("/health")
            #expect(status == 200)
            let h = TestNode.parse(data)
            #expect(h["store"]?.stringValue == "up")
            #expect(h["auditd"]?.stringValue == "up")
            #expect(h["status"]?.stringValue == "ok")
        }

        @Test func metrics() async throws {
            let node = try TestNode.shared()
            try await node.ok(["operation": "describe_all"])
            _ = try await node.post(["operation": "nope"])
            let (status, data) = try await node.get("/metrics", asAdmin: true)
            #expect(status == 200)
            let text = String(decoding: data, as: UTF8.self)
            #expect(text.contains("skein_requests_total"))
            #expect(text.contains("skein_requests_total{operation=\"describe_all\",status=\"200\"}"))
            #expect(text.contains("status=\"400\""))
            #expect(text.contains("skein_request_duration_seconds_count"))
        }

        @Test func readLogReadsRotatedFiles() async throws {
            try await withNode(config: ["logging.rotation.maxSize": "1K", "logging.rotation.retain": "50", "logging.level": "debug"]) { node in
                try await node.freshTable("logs", "t")
                // Each pause lets the index worker catch up, which the store logs (debug).
                for i in 0..<12 {
                    _ = try await node.insert("logs", "t", [["id": JSON(i)]])
                    try await Task.sleep(for: .milliseconds(250))
                }
                let files = try FileManager.default.contentsOfDirectory(atPath: node.root + "/log")
                #expect(files.contains("store.log.1"), "the store's log did not rotate: \(files)")
                // The first lines of the store are in a rotated file now, and read_log finds them.
                let store = try await node.ok(["operation": "read_log", "service": "store", "limit": 10_000])
                #expect(store.arrayValue?.contains { $0["message"]?.stringValue == "store started" } == true)
            }
        }

        /// `/metrics` names peers, databases and lag: a super user's credentials are needed
        /// (security review F22); `/health` stays open for probes.
        @Test func metricsNeedASuperUser() async throws {
            let node = try TestNode.shared()
            #expect(try await node.get("/metrics").status == 401)
            #expect(try await node.get("/health").status == 200)
            try await node.ok(["operation": "add_role", "role": "metrics_reader", "permission": ["super_user": false]])
            try await node.ok(["operation": "add_user", "username": "scraper", "password": "pw-scraper", "role": "metrics_reader", "active": true])
            #expect(try await node.get("/metrics", user: ("scraper", "pw-scraper")).status == 403)
            try await node.ok(["operation": "drop_user", "username": "scraper"])
            try await node.ok(["operation": "drop_role", "role": "metrics_reader"])
        }

        /// The metrics text must stay valid Prometheus exposition whatever a client sends as
        /// its operation name.
        @Test
        func metricsLabelsCannotBeInjected() async throws {
            let node = try TestNode.shared()
            let evil = "evil\"} 1\ninjected_metric{x=\""
            let r = try await node.post(["operation": .string(evil)])
            #expect(r.status == 400)
            _ = try await node.post(["operation": "pipe|op"])
            let text = String(decoding: try await node.get("/metrics", asAdmin: true).body, as: UTF8.self)
            #expect(!text.contains("\ninjected_metric"), "a client injected a metric line")
            let sample = try Regex(#"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*",?)*\})? [-+0-9.eE]+(Inf)?$"#)
            let status = try Regex(#"status="[0-9]{3}"\}"#)
            for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                #expect(line.wholeMatch(of: sample) != nil, "not a Prometheus sample: \(line)")
                if line.hasPrefix("skein_requests_total") {
                    #expect(line.contains(status), "status label is not an HTTP status: \(line)")
                }
            }
        }

        @Test func unknownPathIs404() async throws {
            let node = try TestNode.shared()
            let (status, _) = try await node.get("/no/such/path")
            #expect(status == 404)
        }
    }
}
