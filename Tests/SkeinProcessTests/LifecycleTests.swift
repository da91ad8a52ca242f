import Foundation
import Logging
import NIOSSL
import SkeinPeerNet
import SkeinReplication
import SkeinCore
import SkeinLauncher
import Testing

extension ProcessTests {
    /// The replication engine's lifecycle paths (docs/INTERFACES.md §8): a log that
    /// restarts, a joining node's bootstrap records, big rows in a full copy, clocks that
    /// run ahead, and the clock after a copy, on real processes over loopback.
    @Suite(.serialized) struct LifecycleTests {
        /// A database dropped on node-a (not replicated) and created again starts a new log:
        /// node-b's cursor into the old one must not skip the new log's first entries. node-b
        /// resynchronises (a full copy that keeps its own rows) and says why.
        @Test func aDatabaseCreatedAgainReplicatesItsNewWrites() async throws {
            try await withReplicatingPair { a, b in
                try await a.node.ok(["operation": "create_table", "database": "epoch", "table": "t", "primary_key": "id"])
                _ = try await a.node.insert("epoch", "t", (1...10).map { ["id": JSON($0), "era": "first"] })
                _ = try await pollUntil("the first era on node-b", timeout: 30) { try await count(b, "epoch", "t") == 10 ? true : nil }

                try await a.node.ok(["operation": "drop_database", "database": "epoch"])
                try await a.node.ok(["operation": "create_table", "database": "epoch", "table": "t", "primary_key": "id"])
                _ = try await a.node.insert("epoch", "t", (100...109).map { ["id": JSON($0), "era": "second"] })
                _ = try await pollUntil("ids 100...109 on node-b", timeout: 40) { () -> Bool? in
                    let rows = try await rowsByID(b, "epoch", "t", (100...109).map { JSON($0) })
                    return rows.count == 10 ? true : nil
                }
                // Nothing of node-b's is deleted by the resync, and the stream goes on.
                #expect(try await count(b, "epoch", "t") == 20)
                _ = try await a.node.insert("epoch", "t", [["id": 110, "era": "second"]])
                _ = try await pollUntil("id 110 on node-b", timeout: 30) { () -> Bool? in
                    try await rowsByID(b, "epoch", "t", [110]).count == 1 ? true : nil
                }
                #expect(b.replicatorLog.contains("resynchronising with a full copy"), "node-b's log says why it copied")
                let status = try await b.node.ok(["operation": "cluster_status"])
                let socket = status["connections"]?.arrayValue?.first?["database_sockets"]?.arrayValue?.first { $0["database"] == "epoch" }
                #expect(socket?["sync_reason"]?.stringValue?.contains("log restarted") == true, "\(status)")
            }
        }

        /// A node that joins with the bootstrap admin password must not reset the cluster's
        /// admin: its first super user (made when it starts, after the cluster changed the
        /// password) carries the bootstrap version and loses everywhere.
        @Test func aJoiningNodeKeepsTheClusterAdminPassword() async throws {
            try await withReplicatingPair { a, b, pki in
                let old = a.node.adminPassword, new = "Changed-admin-2"
                try await a.node.ok(["operation": "alter_user", "username": "admin", "password": .string(new)])
                _ = try await pollUntil("the new password on node-b", timeout: 30) { try await accepts(b, password: new) ? true : nil }

                // node-c starts now, with the bootstrap password, and joins.
                let c = try await Peer.start("node-c")
                do {
                    #expect(try await accepts(c, password: old), "node-c starts with the bootstrap password")
                    let (added, reply) = try await a.node.post(["operation": "add_node", "hostname": .string(c.name), "url": .string(c.url)],
                                                               user: "admin", password: new)
                    try #require(added == 200, "add_node: \(reply)")
                    try c.replicate(with: [a], pki: pki)
                    _ = try await pollUntil("the cluster's password on node-c", timeout: 60) { try await accepts(c, password: new) ? true : nil }
                    // node-c's own system log (its bootstrap records) reaches node-a and node-b.
                    for peer in [a, b] {
                        _ = try await pollUntil("\(peer.name) applied node-c's system log", timeout: 30) { () -> Bool? in
                            let (status, s) = try await peer.node.post(["operation": "cluster_status"], user: "admin", password: new)
                            let connection = s["connections"]?.arrayValue?.first { $0["name"] == .string(c.name) }
                            let system = connection?["database_sockets"]?.arrayValue?.first { $0["database"] == "system" }
                            return status == 200 && system?["connected"] == true && system?["cursor"]?.intValue ?? 0 > 0 ? true : nil
                        }
                    }
                    try await Task.sleep(for: .seconds(2))
                    for peer in [a, b, c] {
                        #expect(try await accepts(peer, password: new), "\(peer.name) lost the cluster's admin password")
                        #expect(try await !accepts(peer, password: old), "\(peer.name) accepts the bootstrap password again")
                    }
                } catch {
                    Issue.record("node-c output:\n\(c.node.outputTail(lines: 30))")
                    await c.node.shutdown()
                    throw error
                }
                await c.node.shutdown()
            }
        }

        /// 700 rows of ~100 KB (70 MB: more than one replication message) reach a new node
        /// in a full copy whose pages are bounded by bytes, not only by rows.
        @Test func aTableOfBigRowsFinishesItsFullCopy() async throws {
            let pki = try TestPKI(name: "Skein Test CA")
            defer { pki.remove() }
            try await withPeers(["node-a", "node-b"]) { peers in
                let (a, b) = (peers[0], peers[1])
                try a.replicate(with: [b], pki: pki)
                try await a.node.ok(["operation": "create_table", "database": "data", "table": "big", "primary_key": "id"])
                let blob = String(repeating: "x", count: 100_000)
                for start in stride(from: 1, through: 700, by: 50) {
                    _ = try await a.node.insert("data", "big", (start..<(start + 50)).map { ["id": JSON($0), "blob": .string(blob)] })
                }
                try b.replicate(with: [a], pki: pki)
                _ = try await pollUntil("700 big rows on node-b", timeout: 120) { try await b.count("big") == 700 ? true : nil }
                #expect(b.replicatorLog.contains("full copy finished"))
                let row = try #require(try await record(b, "big", 700))
                #expect(row["blob"]?.stringValue?.count == 100_000)
            }
        }

        /// node-a keeps its log 2 s. node-b's first sync copies 60,000 rows (longer than that)
        /// while node-a keeps writing: what node-a writes during the copy is held for node-b
        /// (audit_hold) and streamed after it, instead of being pruned and sending node-b into
        /// a second full copy.
        @Test func aLongCopyIsFollowedByTheStreamNotAnotherCopy() async throws {
            let pki = try TestPKI(name: "Skein Test CA")
            defer { pki.remove() }
            try await withPeers(["node-a", "node-b"], config: ["node-a": ["logging.auditRetention": "2s"]]) { peers in
                let (a, b) = (peers[0], peers[1])
                try a.replicate(with: [b], pki: pki)
                try await a.node.ok(["operation": "create_table", "database": "data", "table": "ant", "primary_key": "id"])
                for start in stride(from: 1, through: 60_000, by: 2000) {
                    _ = try await a.node.insert("data", "ant", (start..<(start + 2000)).map { ["id": JSON($0), "n": JSON($0 % 89)] })
                }
                try b.replicate(with: [a], pki: pki)
                _ = try await pollUntil("node-b copying from node-a", timeout: 30) { () -> Bool? in
                    (try await b.dataSocket(to: a.name))?["copying"]?.stringValue != nil ? true : nil
                }
                for i in 0..<10 {
                    _ = try await a.node.insert("data", "ant", [["id": JSON(100_000 + i), "n": 0]])
                    try await Task.sleep(for: .milliseconds(50))
                }
                _ = try await pollUntil("every row on node-b", timeout: 120) { try await b.count("ant") == 60_010 ? true : nil }
                let copies = b.replicatorLog.split(separator: "\n").filter {
                    $0.contains("\"database\":\"data\"") && ($0.contains("full copy started") || $0.contains("full copy resumed"))
                }
                #expect(copies.count == 1, "node-b copied data \(copies.count) times")
            }
        }

        /// node-b's clock runs 8 s ahead and node-a allows 3 s of skew: node-a's link pauses on
        /// node-b's write (not applied, node-a's clock not dragged), says so in cluster_status
        /// and its log, and applies it by itself once local time has caught up.
        @Test func aPeerClockTooFarAheadPausesTheLinkUntilTimeCatchesUp() async throws {
            let pki = try TestPKI(name: "Skein Test CA")
            defer { pki.remove() }
            try await withPeers(["node-a", "node-b"], config: ["node-a": ["replication.maxClockSkew": "3s"],
                                                               "node-b": ["testing.clockOffsetMs": "8000"]]) { peers in
                let (a, b) = (peers[0], peers[1])
                try a.replicate(with: [b], pki: pki)
                try b.replicate(with: [a], pki: pki)
                try await waitUntilConnected(a, b)
                try await a.node.ok(["operation": "create_table", "database": "data", "table": "sk", "primary_key": "id"])
                _ = try await pollUntil("table sk on node-b", timeout: 30) { try await b.count("sk") }
                // Wait for node-b's earlier entries (its hdb_nodes record) to be through.
                _ = try await pollUntil("node-a's data link to node-b not paused", timeout: 30) { () -> Bool? in
                    try await a.dataSocket(to: b.name)?["clock_skew"]?.isNull == true ? true : nil
                }
                let written = Date()
                _ = try await b.node.insert("data", "sk", [["id": 1, "from": "node-b"]])
                let paused = try await pollUntil("node-a's link paused for clock skew", timeout: 4) { () -> JSON? in
                    let socket = try await a.dataSocket(to: b.name)
                    return socket?["clock_skew"]?.stringValue != nil ? socket : nil
                }
                #expect(try await record(a, "sk", 1) == nil, "applied although 8 s ahead")
                #expect(paused["clock_skew_pauses"]?.intValue ?? 0 >= 1, "\(paused)")
                let (_, metrics) = try await a.node.get("/metrics", asAdmin: true)
                let text = String(decoding: metrics, as: UTF8.self)
                #expect(text.contains("skein_replication_clock_skew_paused{peer=\"node-b\",database=\"data\"} 1.0"), "\(text)")
                // node-a's own writes are stamped with its own time (at most the allowed 3 s
                // ahead, from what it applied), not node-b's 8 s.
                let own = try await a.node.insert("data", "sk", [["id": 2, "from": "node-a"]])
                let stamped = try #require(own["txn_time"]?.doubleValue)
                #expect(stamped < Date().timeIntervalSince1970 * 1000 + 3500, "node-a's clock was dragged ahead: \(stamped)")
                // It resumes by itself once local time is within 3 s of the write.
                _ = try await pollUntil("node-b's write on node-a", timeout: 20) { try await record(a, "sk", 1) }
                #expect(Date().timeIntervalSince(written) >= 4, "applied before local time caught up")
                #expect(a.replicatorLog.contains("peer clock too far ahead: replication paused"))
                #expect(a.replicatorLog.contains("local time caught up"))
            }
        }

        /// node-a's clock runs 20 s ahead (within the allowed skew). node-b copies node-a's
        /// table and at once updates a copied record: the copy advanced node-b's clock, so
        /// the update is newer and wins on both nodes (before, it lost on node-a forever while
        /// node-b kept it: the nodes disagreed).
        @Test func anUpdateRightAfterAFullCopyWinsOnEveryNode() async throws {
            let pki = try TestPKI(name: "Skein Test CA")
            defer { pki.remove() }
            try await withPeers(["node-a", "node-b"], config: ["node-a": ["testing.clockOffsetMs": "20000"]]) { peers in
                let (a, b) = (peers[0], peers[1])
                try a.replicate(with: [b], pki: pki)
                try await a.node.ok(["operation": "create_table", "database": "data", "table": "pet", "primary_key": "id"])
                _ = try await a.node.insert("data", "pet", [["id": 1, "name": "from a"]])
                try b.replicate(with: [a], pki: pki)
                _ = try await pollUntil("record 1 on node-b", timeout: 30) { try await record(b, "pet", 1) }
                try await b.node.ok(["operation": "update", "database": "data", "table": "pet", "records": [["id": 1, "name": "from b"]]])
                _ = try await pollUntil("node-b's update on node-a", timeout: 30) { () -> Bool? in
                    try await record(a, "pet", 1)?["name"] == "from b" ? true : nil
                }
                #expect(try await record(b, "pet", 1)?["name"] == "from b")
            }
        }

        /// A delete's tombstone is kept while a peer may still send an older write of the
        /// record (node-b's replicator is down: node-a cannot know what it has), and pruned on
        /// both nodes once each has applied past it (watermarks and frontiers in the protocol).
        @Test func tombstonesArePrunedOnceEveryPeerHasAppliedThem() async throws {
            let pki = try TestPKI(name: "Skein Test CA")
            defer { pki.remove() }
            // Tombstones must be 2 x maxClockSkew old: 2 s here.
            let skew = ["replication.maxClockSkew": "1s"]
            try await withPeers(["node-a", "node-b"], config: ["node-a": skew, "node-b": skew]) { peers in
                let (a, b) = (peers[0], peers[1])
                try a.replicate(with: [b], pki: pki)
                try b.replicate(with: [a], pki: pki)
                try await waitUntilConnected(a, b)
                try await a.node.ok(["operation": "create_table", "database": "data", "table": "tomb", "primary_key": "id"])
                _ = try await a.node.insert("data", "tomb", (1...3).map { ["id": JSON($0)] })
                _ = try await pollUntil("3 records on node-b", timeout: 30) { try await b.count("tomb") == 3 ? true : nil }

                await b.node.stop(.replicator)
                try await a.node.ok(["operation": "delete", "database": "data", "table": "tomb", "ids": [1, 2]])
                #expect(try await tombstones(a, "tomb") == 2)
                // Age (2 s) and a pruning round (5 s) pass: kept, node-b has not said anything.
                try await Task.sleep(for: .seconds(8))
                #expect(try await tombstones(a, "tomb") == 2, "pruned while node-b could still send older writes")

                try b.node.start(.replicator)
                _ = try await pollUntil("the deletes on node-b", timeout: 30) { try await b.count("tomb") == 1 ? true : nil }
                _ = try await pollUntil("tombstones pruned on both nodes", timeout: 40) { () -> Bool? in
                    let (ta, tb) = (try await tombstones(a, "tomb"), try await tombstones(b, "tomb"))
                    return ta == 0 && tb == 0 ? true : nil
                }
                #expect(a.replicatorLog.contains("pruned tombstones every peer has applied"))
                // The table goes on replicating both ways.
                _ = try await b.node.insert("data", "tomb", [["id": 1, "again": true]])
                _ = try await pollUntil("id 1 again on node-a", timeout: 30) { try await record(a, "tomb", 1) }
            }
        }

        /// A write can reach a node before the table's creation does: node-a creates `late`
        /// while node-b's replicator is down, node-c gets it and writes a record, node-a's
        /// replicator stops, node-b comes back. node-c's entry names the primary key, so
        /// node-b creates the table and keeps the record (it was skipped and lost for good),
        /// with the TTL and declared attributes node-a gave it (the entry carries them).
        @Test func aWriteThatArrivesBeforeItsTablesCreationIsKept() async throws {
            try await withReplicatingTrio { a, b, c in
                // node-b streams from both (a cursor into each log: no first-sync copy later).
                try await a.node.ok(["operation": "create_table", "database": "data", "table": "warm", "primary_key": "id"])
                _ = try await pollUntil("table warm on node-c", timeout: 30) { try await c.count("warm") }
                _ = try await a.node.insert("data", "warm", [["id": 1]])
                _ = try await c.node.insert("data", "warm", [["id": 2]])
                _ = try await pollUntil("both records on node-b", timeout: 30) { try await b.count("warm") == 2 ? true : nil }
                await b.node.stop(.replicator)
                try await a.node.ok(["operation": "create_table", "database": "data", "table": "late", "primary_key": "code", "expiration": 3600,
                                     "attributes": [["name": "code", "type": "ID"], ["name": "from", "indexed": true], ["name": "note"]]])
                _ = try await pollUntil("table late on node-c", timeout: 30) { try await c.count("late") }
                await a.node.stop(.replicator)
                _ = try await c.node.insert("data", "late", [["code": "x1", "from": "node-c"]])
                try b.node.start(.replicator)
                let row = try await pollUntil("node-c's record on node-b", timeout: 30) { () -> JSON? in
                    let (status, rows) = try await b.node.post(["operation": "search_by_id", "database": "data", "table": "late",
                                                                "ids": ["x1"], "get_attributes": ["*"]])
                    return status == 200 ? rows.arrayValue?.first : nil
                }
                #expect(row["from"] == "node-c")
                let described = try await b.node.ok(["operation": "describe_table", "database": "data", "table": "late"])
                #expect(described["primary_key"] == "code", "\(described)")
                // Created from the record entry as node-a declared it: TTL, declared attributes, indexes, types.
                let origin = try await c.node.ok(["operation": "describe_table", "database": "data", "table": "late"])
                #expect(described["expiration"] == "3600s" && described["schema_defined"] == true, "\(described)")
                #expect(described["attributes"] == origin["attributes"], "node-b \(described), node-c \(origin)")
            }
        }

        /// Harper's declared attributes: `create_table` with `attributes: [{name, indexed}]`
        /// indexes only those marked; a peer creates the table with the same indexes, and a
        /// search on an attribute without an index still finds its records on both nodes.
        @Test func declaredIndexesReplicate() async throws {
            try await withReplicatingPair { a, b in
                try await a.node.ok(["operation": "create_table", "database": "data", "table": "lean", "primary_key": "id",
                                     "attributes": [["name": "id", "type": "ID"], ["name": "kind", "indexed": true], ["name": "body"]]])
                _ = try await a.node.insert("data", "lean", [["id": 1, "kind": "a", "body": "text one"], ["id": 2, "kind": "b", "body": "text two"]])
                _ = try await pollUntil("2 records on node-b", timeout: 30) { try await b.count("lean") == 2 ? true : nil }
                for peer in [a, b] {
                    let d = try await peer.node.ok(["operation": "describe_table", "database": "data", "table": "lean"])
                    let flags = Dictionary(uniqueKeysWithValues: (d["attributes"]?.arrayValue ?? []).map { ($0["attribute"]?.stringValue ?? "", $0["indexed"]) })
                    #expect(d["schema_defined"] == true && flags["kind"] == true && flags["body"] == false, "\(peer.name): \(d)")
                    let found = try await peer.node.ok(["operation": "search_by_value", "database": "data", "table": "lean",
                                                        "search_attribute": "body", "search_value": "text two", "get_attributes": ["id"]])
                    #expect(found == [["id": 2]], "\(peer.name): \(found)")
                }
                let bad = try await a.node.fails(["operation": "create_table", "database": "data", "table": "lean2", "primary_key": "id",
                                                  "attributes": [["name": "kind", "indexed": "yes"]]], 400)
                #expect(bad.contains("indexed"))
            }
        }
    }
}

/// `describe_table`'s tombstone_count of `data.TABLE` on `peer`.
private func tombstones(_ peer: Peer, _ table: String) async throws -> Int? {
    let d = try await peer.node.ok(["operation": "describe_table", "database": "data", "table": .string(table)])
    return d["tombstone_count"]?.intValue
}

/// `describe_table`'s record_count of `DATABASE.TABLE` on `peer` (nil while missing).
private func count(_ peer: Peer, _ database: String, _ table: String) async throws -> Int? {
    let (status, d) = try await peer.node.post(["operation": "describe_table", "database": .string(database), "table": .string(table)])
    return status == 200 ? d["record_count"]?.intValue : nil
}

/// The records of `ids` that exist on `peer`.
private func rowsByID(_ peer: Peer, _ database: String, _ table: String, _ ids: [JSON]) async throws -> [JSON] {
    let (status, rows) = try await peer.node.post(["operation": "search_by_id", "database": .string(database), "table": .string(table),
                                                   "ids": .array(ids), "get_attributes": ["*"]])
    return status == 200 ? rows.arrayValue ?? [] : []
}

/// Whether `peer` lets the admin in with `password`.
private func accepts(_ peer: Peer, password: String) async throws -> Bool {
    try await peer.node.post(["operation": "cluster_status"], user: "admin", password: password).status == 200
}

extension ProcessTests.LifecycleTests {
    /// A peer with a valid certificate whose batches carry entries of another origin (a
    /// node relaying what it must not, or a forger) is cut off: nothing of the batch is
    /// applied, and the subscriber logs why.
    @Test func aPeerSendingAnotherOriginsEntriesIsCutOff() async throws {
        let pki = try TestPKI(name: "Skein Test CA")
        defer { pki.remove() }
        try await withPeers(["node-a"]) { peers in
            let a = peers[0]
            try await a.node.ok(["operation": "create_table", "database": "data", "table": "owl", "primary_key": "id"])
            // A hand-made node-b with node-b's real certificate.
            let dir = a.node.root + "/fake-b"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let files = try pki.issue(node: "node-b", into: dir)
            let tls = PeerTLSConfiguration.server(chain: try NIOSSLCertificate.fromPEMFile(files["tls.certificate"]!.stringValue!),
                                                  key: try NIOSSLPrivateKey(file: files["tls.privateKey"]!.stringValue!, format: .pem),
                                                  authorities: try NIOSSLCertificate.fromPEMFile(pki.certificate))
            let port = TestNode.freePort()
            let forged = AuditEntry(sequence: 1, version: HLCTimestamp(millis: UInt64(Date().timeIntervalSince1970 * 1000), counter: 0),
                                    origin: "node-c", user: "admin", operation: "insert", table: "owl", ids: [1],
                                    records: [["id": 1, "by": "forger"]], previous: [.null])
            let server = PeerServer(host: "127.0.0.1", port: port, reusePort: false, tls: tls, logger: Logger(label: "fake-node-b"))
            let serving = Task {
                try await server.run(accept: { _ in true }) { socket, _ in
                    guard (try? await socket.receive()) != nil else { return }  // its hello
                    try? await socket.send(text: ReplicationFrame.hello(node: "node-b", time: nil, log: "f0f0f0f0f0f0f0f0").text)
                    while let text = try? await socket.receive() {
                        guard let frame = try? ReplicationFrame(text: text), case .message(let message) = frame else { return }
                        switch message {
                        case .copyBegin:
                            try? await socket.send(text: ReplicationFrame.message(.copyTables(resumeFrom: 1, tables: [])).text)
                        case .subscribe:
                            try? await socket.send(text: ReplicationFrame.message(.batch(from: 1, through: 1, entries: [forged], newest: 1)).text)
                        default:
                            break
                        }
                    }
                }
            }
            defer { serving.cancel() }
            var config = try pki.issue(node: a.name, into: a.node.root)
            config["replication.securePort"] = JSON(a.port)
            config["replication.routes"] = [NodeConfigBuilder.Route(hostname: "node-b", host: "127.0.0.1", port: port).json]
            try a.node.startReplicator(config: config)
            _ = try await pollUntil("node-a cutting off the forging peer", timeout: 30) { () -> Bool? in
                a.replicatorLog.contains("the peer broke the protocol: batch entry 1 has origin \\\"node-c\\\"") ? true : nil
            }
            #expect(try await record(a, "owl", 1) == nil, "a forged entry was applied")
        }
    }
}
