import Foundation
import SkeinCore
import Testing

extension ProcessTests {
    /// Two or three nodes on loopback, each with store, auditd, gateway and replicator,
    /// replicating over mTLS WebSockets (docs/INTERFACES.md §8).
    @Suite(.serialized) struct ReplicationTests {
        @Test func insertsAndUpdatesReplicateBothWays() async throws {
            // Both subscriber links come up (cluster_status through the gateway) before the body.
            try await withReplicatingPair { a, b in
                // A table and a record made on A appear on B.
                try await a.node.ok(["operation": "create_table", "database": "data", "table": "dog", "primary_key": "id"])
                _ = try await a.node.insert("data", "dog", [["id": 1, "name": "Rex", "from": "node-a"]])
                let onB = try await pollUntil("record 1 on node-b") { try await record(b, "dog", 1) }
                #expect(onB["name"] == "Rex")
                #expect(onB["from"] == "node-a")

                // The other way: a record made on B appears on A.
                _ = try await b.node.insert("data", "dog", [["id": 2, "name": "Fido", "from": "node-b"]])
                let onA = try await pollUntil("record 2 on node-a") { try await record(a, "dog", 2) }
                #expect(onA["name"] == "Fido")

                // An update on A converges on B.
                try await a.node.ok(["operation": "update", "database": "data", "table": "dog", "records": [["id": 1, "name": "Max"]]])
                _ = try await pollUntil("the update of record 1 on node-b") { () -> Bool? in
                    try await record(b, "dog", 1)?["name"] == "Max" ? true : nil
                }
                let final1 = try #require(try await record(b, "dog", 1))
                #expect(final1["from"] == "node-a", "update keeps the other fields: \(final1)")

                // Each side reports the other's progress.
                let status = try await a.node.ok(["operation": "cluster_status"])
                let socket = status["connections"]?.arrayValue?.first?["database_sockets"]?.arrayValue?.first { $0["database"] == "data" }
                #expect(socket?["lastCommitConfirmed"]?.stringValue != nil, "\(status)")
                #expect(socket?["publishing"] == true, "\(status)")
                // Skein's own fields: lag of the last applied write, how far behind, the
                // peer's clock offset (same machine: small), bytes/s on this connection.
                #expect(socket?["lag_ms"]?.intValue != nil && socket?["entries_behind"] == 0, "\(status)")
                #expect(abs(socket?["clock_offset_ms"]?.intValue ?? 1000) < 1000, "\(status)")
                #expect(socket?["bytes_per_second"]?.doubleValue != nil, "\(status)")
            }
        }

        /// A caught-up peer is sent new writes from the store's commit feed, not read back
        /// through auditd (docs/INTERFACES.md §5 "Commit feed"): with node-a's auditd stopped,
        /// its new writes still reach node-b, and node-a's replicator counts feed reads.
        @Test func aCaughtUpPeerIsSentNewWritesFromTheCommitFeed() async throws {
            try await withReplicatingPair { a, b in
                try await a.node.ok(["operation": "create_table", "database": "data", "table": "feed", "primary_key": "id"])
                _ = try await a.node.insert("data", "feed", [["id": 0, "from": "node-a"]])
                _ = try await pollUntil("record 0 on node-b") { try await record(b, "feed", 0) }

                #expect(await a.node.stop(.auditd) == 0)
                for start in stride(from: 1, through: 200, by: 20) {
                    let records: [JSON] = (start..<(start + 20)).map { ["id": JSON($0), "name": .string("feed \($0)")] }
                    _ = try await a.node.insert("data", "feed", records)
                }
                _ = try await pollUntil("200 new records on node-b without node-a's auditd", timeout: 30) { () -> Bool? in
                    try await b.count("feed") == 201 ? true : nil
                }
                #expect(try await record(b, "feed", 200)?["name"] == "feed 200")
                let scrape = try await Scrape(a.node)
                #expect((scrape.value("skein_replicator_log_reads_total", ["source": "feed"]) ?? 0) >= 1, "\(scrape.text)")
                try a.node.start(.auditd)
            }
        }

        /// A subscriber whose position the publisher pruned gets a full copy (copy_begin,
        /// copy_tables, copy_page/copy_rows), then streams from where the copy was taken.
        @Test func prunedLogIsFilledByAFullCopy() async throws {
            let pki = try TestPKI(name: "Skein Test CA")
            defer { pki.remove() }
            // node-a keeps its audit log 2 s (pruned every second).
            try await withPeers(["node-a", "node-b"], config: ["node-a": ["logging.auditRetention": "2s"]]) { peers in
                let (a, b) = (peers[0], peers[1])
                // node-a replicates (its link to node-b fails until node-b's replicator runs).
                try a.replicate(with: [b], pki: pki)
                try await a.node.ok(["operation": "create_table", "database": "data", "table": "dog", "primary_key": "id"])
                let total = 3000
                for start in stride(from: 1, through: total, by: 500) {
                    let records: [JSON] = (start..<(start + 500)).map { ["id": JSON($0), "name": .string("dog \($0)"), "from": "node-a"] }
                    _ = try await a.node.insert("data", "dog", records)
                }
                // Wait until node-a's log of these writes is gone.
                _ = try await pollUntil("node-a's audit log pruned", timeout: 15) { () -> Bool? in
                    let log = try await a.node.ok(["operation": "read_audit_log", "database": "data", "table": "dog"])
                    return log.arrayValue?.isEmpty == true ? true : nil
                }

                // node-b subscribes from scratch: node-a answers `pruned`, node-b copies.
                try b.replicate(with: [a], pki: pki)
                _ = try await pollUntil("all \(total) records on node-b", timeout: 30) { () -> Bool? in
                    // (post, not ok: the table is missing until the copy creates it.)
                    let (status, d) = try await b.node.post(["operation": "describe_table", "database": "data", "table": "dog"])
                    return status == 200 && d["record_count"]?.intValue == total ? true : nil
                }
                for id in [1, 1000, 1001, total] {
                    let r = try #require(try await record(b, "dog", id), "record \(id) on node-b")
                    #expect(r["name"] == .string("dog \(id)") && r["from"] == "node-a", "\(r)")
                }

                // Streaming resumed where the copy was taken.
                _ = try await a.node.insert("data", "dog", [["id": JSON(total + 1), "name": "after the copy"]])
                let after = try await pollUntil("record \(total + 1) on node-b", timeout: 30) { try await record(b, "dog", total + 1) }
                #expect(after["name"] == "after the copy")

                // The copy shows in node-b's log, and its status is back to streaming.
                let log = b.replicatorLog
                #expect(log.contains("full copy started") && log.contains("copying") && log.contains("full copy finished"))
                #expect(a.replicatorLog.contains("full copy requested"))
                // With a 2 s retention node-a keeps pruning, so node-b may be between
                // (re)connections at any instant: wait for a streaming state, bounded.
                _ = try await pollUntil("node-b streaming from node-a", timeout: 20) { () -> Bool? in
                    let (code, status) = try await b.node.post(["operation": "cluster_status"])
                    let socket = status["connections"]?.arrayValue?.first?["database_sockets"]?.arrayValue?.first
                    let streaming = code == 200 && socket?["connected"] == true && socket?["copying"] == .null
                        && (socket?["cursor"]?.intValue ?? 0) > 0
                    return streaming ? true : nil
                }
            }
        }

        @Test func certificateFromAnotherCAIsRefused() async throws {
            let pki = try TestPKI(name: "Skein Test CA")
            let rogue = try TestPKI(name: "Rogue CA")
            defer { pki.remove(); rogue.remove() }
            try await withPeers(["node-a", "node-c"]) { peers in
                let (a, c) = (peers[0], peers[1])
                // Each names the other as a route, so only the certificate stands in the way.
                try a.replicate(with: [c], pki: pki)
                try c.replicate(with: [a], pki: rogue)

                try await a.node.ok(["operation": "create_table", "database": "data", "table": "cat", "primary_key": "id"])
                _ = try await a.node.insert("data", "cat", [["id": 1, "name": "Tom"]])

                // Both sides log the refusal (each distrusts the other's certificate).
                _ = try await pollUntil("a refusal in node-c's replicator log") { () -> Bool? in
                    c.replicatorLog.contains("refused replication connection") ? true : nil
                }
                _ = try await pollUntil("a refusal in node-a's replicator log") { () -> Bool? in
                    a.replicatorLog.contains("refused replication connection") ? true : nil
                }
                // (cluster_status falls back to is_enabled: false until the gateway reaches the replicator.)
                let status = try await pollUntil("refusals counted in node-a's cluster_status") { () -> JSON? in
                    let s = try await a.node.ok(["operation": "cluster_status"])
                    // (Not `cond ? s : nil`: JSON is nil-literal expressible, that would be .null.)
                    guard (s["refused_connections"]?.intValue ?? 0) >= 1 else { return Optional<JSON>.none }
                    return s
                }
                let socket = status["connections"]?.arrayValue?.first?["database_sockets"]?.arrayValue?.first { $0["database"] == "data" }
                #expect(socket?["connected"] == false && socket?["publishing"] == false, "\(status)")

                // Nothing reached node-c: no table, no record.
                try await Task.sleep(for: .seconds(2))
                #expect(try await record(c, "cat", 1) == nil)
            }
        }

        /// A certificate from the right CA that has expired is refused (and logged) by the node
        /// it is presented to, and nothing replicates.
        @Test func expiredCertificateIsRefused() async throws {
            let pki = try TestPKI(name: "Skein Test CA")
            defer { pki.remove() }
            try await withPeers(["node-a", "node-c"]) { peers in
                let (a, c) = (peers[0], peers[1])
                try a.replicate(with: [c], pki: pki)
                try c.replicate(with: [a], pki: pki, expiredCertificate: true)
                try await a.node.ok(["operation": "create_table", "database": "data", "table": "cat", "primary_key": "id"])
                _ = try await a.node.insert("data", "cat", [["id": 1, "name": "Tom"]])
                _ = try await pollUntil("a refusal in node-a's replicator log") { () -> Bool? in
                    a.replicatorLog.contains("refused replication connection") ? true : nil
                }
                // (node-c's own side does not log it yet: with TLS 1.3 the client learns that its
                // certificate was refused only after its handshake, and that error is not reported.)
                try await Task.sleep(for: .seconds(2))
                #expect(try await record(c, "cat", 1) == nil)
            }
        }

        /// A certificate from the right CA is not enough: the stated name must be in the
        /// certificate and a configured route of the node it dials.
        @Test func trustedCertificateOfAnUnknownNodeIsRefused() async throws {
            let pki = try TestPKI(name: "Skein Test CA")
            defer { pki.remove() }
            try await withPeers(["node-a", "node-d"]) { peers in
                let (a, d) = (peers[0], peers[1])
                try a.replicate(with: [], pki: pki)
                try d.replicate(with: [a], pki: pki)
                try await a.node.ok(["operation": "create_table", "database": "data", "table": "owl", "primary_key": "id"])
                _ = try await a.node.insert("data", "owl", [["id": 1]])

                _ = try await pollUntil("node-a refusing node-d") { () -> Bool? in
                    a.replicatorLog.contains("is neither a configured route") ? true : nil
                }
                _ = try await pollUntil("node-d seeing the refusal") { () -> Bool? in
                    d.replicatorLog.contains("refused replication connection") ? true : nil
                }
                _ = try await pollUntil("refusals counted in node-a's cluster_status") { () -> Bool? in
                    let s = try await a.node.ok(["operation": "cluster_status"])
                    return (s["refused_connections"]?.intValue ?? 0) >= 1 ? true : nil
                }
                // ...and in its Prometheus metrics.
                let (code, body) = try await a.node.get("/metrics", asAdmin: true)
                let line = String(decoding: body, as: UTF8.self).split(separator: "\n")
                    .first { $0.hasPrefix("skein_replication_refused_connections_total ") }
                #expect(code == 200 && (line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0) >= 1, "\(line ?? "no metric")")
                #expect(try await record(d, "owl", 1) == nil)
            }
        }
    }
}
