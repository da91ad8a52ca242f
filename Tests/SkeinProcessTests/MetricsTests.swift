import Foundation
import SkeinCore
import Testing

extension ProcessTests {
    /// `GET /metrics` gathers every service's own metrics (the `metrics` RPC, swift-metrics
    /// with the Prometheus backend) into one exposition (docs/INTERFACES.md "Metrics").
    @Suite(.serialized) struct MetricsTests {
        @Test func storeAuditdAndGatewayMetricsReachOneScrape() async throws {
            try await withNode { node in
                try await node.freshTable("data", "metered")
                for i in 0..<5 { _ = try await node.insert("data", "metered", [["id": JSON(i)]]) }
                let scrape = try await Scrape(node)
                #expect(scrape.value("skein_store_commits_total") ?? 0 >= 5, "\(scrape.text)")
                #expect(scrape.value("skein_store_group_size_count") ?? 0 >= 5, "\(scrape.text)")
                #expect(scrape.value("skein_store_group_commit_duration_seconds_count") ?? 0 >= 5, "\(scrape.text)")
                // Each write's age at its commit: one observation per write, none of them old.
                let ages = try #require(scrape.value("skein_store_commit_age_seconds_count"), "\(scrape.text)")
                #expect(ages >= 5)
                #expect(scrape.value("skein_store_commit_age_seconds_sum") ?? .infinity < ages * 10)
                let used = try #require(scrape.value("skein_store_map_used_bytes", ["database": "data", "environment": "data"]), "\(scrape.text)")
                let size = try #require(scrape.value("skein_store_map_size_bytes", ["database": "data", "environment": "data"]))
                #expect(used > 0 && used < size)
                // Pruning has its metrics before the first prune deletes anything.
                #expect(scrape.value("skein_auditd_pruned_entries_total") != nil, "\(scrape.text)")
                #expect(scrape.value("skein_auditd_last_prune_duration_seconds") != nil, "\(scrape.text)")
                for service in ["store", "auditd"] { #expect(scrape.value("skein_service_up", ["service": service]) == 1) }
                #expect(scrape.value("skein_requests_total", ["operation": "insert", "status": "200"]) ?? 0 >= 5)
                // One # TYPE per family, however many processes export it.
                let types = scrape.text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }
                #expect(types.count == Set(types.map { $0.split(separator: " ")[2] }).count, "a family is typed twice")
            }
        }

        /// A dropped database's map-use series leave the scrape with it.
        @Test func droppedDatabaseLeavesTheScrape() async throws {
            try await withNode { node in
                try await node.freshTable("ephemeral", "t")
                let labels = ["database": "ephemeral", "environment": "data"]
                #expect(try await Scrape(node).value("skein_store_map_used_bytes", labels) != nil)
                try await node.ok(["operation": "drop_database", "database": "ephemeral"])
                let after = try await Scrape(node)
                #expect(after.value("skein_store_map_used_bytes", labels) == nil, "\(after.text)")
                #expect(after.value("skein_store_map_size_bytes", labels) == nil)
                #expect(after.value("skein_store_map_used_bytes", ["database": "system"]) != nil)
            }
        }

        /// Every metric the Grafana dashboard queries is in a real scrape of a replicating
        /// node that took writes (a renamed metric breaks the dashboard, so this test).
        @Test func dashboardQueriesOnlyMetricsANodeExports() async throws {
            let names = try Self.dashboardMetricNames()
            #expect(names.count >= 20, "\(names)")
            try await withReplicatingPair { a, b in
                try await writeBothWays(a, b)
                let scrape = try await Scrape(a.node)
                let missing = names.subtracting(scrape.names)
                #expect(missing.isEmpty, "dashboard metrics missing from node-a's scrape: \(missing.sorted())\n\(scrape.text)")
            }
        }

        /// The replicators' own metrics, per peer: batches and bytes both ways, apply
        /// latency, lag and link state.
        @Test func replicatorMetricsArePerPeer() async throws {
            try await withReplicatingPair { a, b in
                try await writeBothWays(a, b)
                let onA = try await Scrape(a.node)
                let fromB = ["peer": "node-b", "database": "data", "replicator": "replicator"]
                #expect(onA.value("skein_replicator_connected", fromB) == 1, "\(onA.text)")
                #expect(onA.value("skein_replicator_batches_received_total", fromB) ?? 0 >= 1, "\(onA.text)")
                #expect(onA.value("skein_replicator_received_bytes_total", fromB) ?? 0 > 0)
                #expect(onA.value("skein_replicator_apply_duration_seconds_count", fromB) ?? 0 >= 1)
                // Entry ages at each stage of the path, per peer: node-b's write received,
                // taken and applied here; node-a's sent to node-b. Applied is the last stage,
                // so no entry is younger there than when it was received.
                for stage in ["received", "taken", "applied"] {
                    #expect(onA.value("skein_replicator_entry_age_seconds_count", fromB.merging(["stage": stage]) { $1 }) ?? 0 >= 1, "\(stage)\n\(onA.text)")
                }
                let (received, applied) = try await pollUntil("every received entry applied in node-a's scrape") { () -> (Double, Double)? in
                    let scrape = try await Scrape(a.node)
                    func age(_ stage: String, _ field: String) -> Double? {
                        scrape.value("skein_replicator_entry_age_seconds_\(field)", fromB.merging(["stage": stage]) { $1 })
                    }
                    guard let n = age("received", "count"), age("applied", "count") == n,
                          let received = age("received", "sum"), let applied = age("applied", "sum") else { return nil }
                    return (received, applied)
                }
                #expect(applied >= received && applied < 60, "received \(received) s, applied \(applied) s")
                #expect(onA.value("skein_replicator_entry_age_seconds_count", ["peer": "node-b", "database": "data", "stage": "sent"]) ?? 0 >= 1, "\(onA.text)")
                let lag = try #require(onA.value("skein_replicator_lag_seconds", fromB), "\(onA.text)")
                #expect(lag >= 0 && lag < 60)
                #expect(onA.value("skein_replicator_batches_sent_total", ["peer": "node-b", "database": "data"]) ?? 0 >= 1, "\(onA.text)")
                #expect(onA.value("skein_replicator_sent_bytes_total", ["peer": "node-b", "database": "data"]) ?? 0 > 0)
                // node-b's publisher long-polled node-a's auditd for the log.
                #expect(onA.value("skein_auditd_streamed_entries_total") ?? 0 >= 1, "\(onA.text)")
                #expect(onA.value("skein_service_up", ["service": "replicator"]) == 1)
                let onB = try await Scrape(b.node)
                #expect(onB.value("skein_replicator_batches_received_total", ["peer": "node-a", "database": "data"]) ?? 0 >= 1, "\(onB.text)")
                #expect(onB.value("skein_replicator_batches_joined_total", ["peer": "node-a", "database": "data"]) != nil, "\(onB.text)")
            }
        }

        /// A peer removed with remove_node takes its link series out of the scrape (a
        /// lingering `connected 1` would hide that the link is gone).
        @Test func removedPeerLeavesTheScrape() async throws {
            try await withUnroutedPair { a, b in
                try await a.node.ok(["operation": "add_node", "hostname": .string(b.name), "url": .string(b.url)])
                try await b.node.ok(["operation": "add_node", "hostname": .string(a.name), "url": .string(a.url)])
                try await waitUntilConnected(a, b)
                let link = ["peer": "node-b", "database": "data"]
                #expect(try await Scrape(a.node).value("skein_replicator_connected", link) == 1)
                try await a.node.ok(["operation": "remove_node", "hostname": .string(b.name)])
                _ = try await pollUntil("node-b's link series gone from node-a's scrape", timeout: 30) { () -> Bool? in
                    try await Scrape(a.node).value("skein_replicator_connected", link) == nil ? true : nil
                }
            }
        }

        /// A record written on each node and seen on the other: batches went both ways.
        private func writeBothWays(_ a: Peer, _ b: Peer) async throws {
            try await a.node.ok(["operation": "create_table", "database": "data", "table": "metered", "primary_key": "id"])
            _ = try await a.node.insert("data", "metered", [["id": 1, "from": "node-a"]])
            _ = try await pollUntil("record 1 on node-b") { try await record(b, "metered", 1) }
            _ = try await b.node.insert("data", "metered", [["id": 2, "from": "node-b"]])
            _ = try await pollUntil("record 2 on node-a") { try await record(a, "metered", 2) }
        }

        /// The metric names in the dashboard's PromQL (`expr` of every target).
        static func dashboardMetricNames() throws -> Set<String> {
            let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("../../deploy/grafana/skein-dashboard.json").standardized.path
            let dashboard = try JSON.parse(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
            var names: Set<String> = []
            for panel in dashboard["panels"]?.arrayValue ?? [] {
                for target in panel["targets"]?.arrayValue ?? [] {
                    let expr = target["expr"]?.stringValue ?? ""
                    names.formUnion(expr.matches(of: #/skein_[a-zA-Z0-9_]+/#).map { String($0.output) })
                }
            }
            return names
        }
    }
}

/// One `GET /metrics` (as the admin), parsed into samples.
struct Scrape {
    let text: String
    /// `name{labels}` or `name` → value.
    let samples: [(name: Substring, series: Substring, value: Double)]

    init(_ node: TestNode) async throws {
        let (status, body) = try await node.get("/metrics", asAdmin: true)
        try #require(status == 200)
        text = String(decoding: body, as: UTF8.self)
        samples = text.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { line in
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { return nil }
            let series = line[..<space]
            return (series.prefix { $0 != "{" }, series, value)
        }
    }

    var names: Set<String> { Set(samples.map { String($0.name) }) }

    /// The value of the first sample of `name` carrying every one of `labels`.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { sample in
            sample.name == name && labels.allSatisfy { sample.series.contains("\($0.key)=\"\($0.value)\"") }
        }?.value
    }
}
