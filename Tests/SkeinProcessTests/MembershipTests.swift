import Foundation
import SkeinCore
import Testing

extension ProcessTests {
    /// Cluster membership (`hdb_nodes`, add_node/remove_node), the replicated `system`
    /// database, new nodes, `startTime`, revoked certificates and replicated drops
    /// (docs/INTERFACES.md §8), on real processes over loopback.
    @Suite(.serialized) struct MembershipTests {
        /// A fourth node added with add_node joins through one route: it gets a full copy of
        /// 10,000 records (and the users) from that peer, learns the other nodes from
        /// hdb_nodes, and then exchanges writes with each of them directly.
        @Test func newNodeGetsAFullCopyAndLearnsTheCluster() async throws {
            let pki = try TestPKI(name: "Skein Test CA")
            defer { pki.remove() }
            try await withPeers(["node-a", "node-b", "node-c", "node-d"]) { peers in
                let (a, b, c, d) = (peers[0], peers[1], peers[2], peers[3])
                try a.replicate(with: [b, c], pki: pki)
                try b.replicate(with: [a, c], pki: pki)
                try c.replicate(with: [a, b], pki: pki)
                try await waitUntilConnected(a, b)
                try await a.node.ok(["operation": "create_table", "database": "data", "table": "dog", "primary_key": "id"])
                let total = 10_000
                for start in stride(from: 1, through: total, by: 1000) {
                    let records: [JSON] = (start..<(start + 1000)).map { ["id": JSON($0), "name": .string("dog \($0)")] }
                    _ = try await a.node.insert("data", "dog", records)
                }
                try await a.node.ok(["operation": "add_role", "role": "reader", "permission": ["data": ["tables": ["dog": ["read": true]]]]])
                try await a.node.ok(["operation": "add_user", "username": "rita", "password": "rita-pass-1", "role": "reader", "active": true])
                _ = try await pollUntil("10,000 records on node-c", timeout: 60) { try await c.count("dog") == total ? true : nil }

                // node-d joins: the cluster learns it (add_node on node-a travels in hdb_nodes),
                // and node-d itself only has a route to node-a.
                try await a.node.ok(["operation": "add_node", "hostname": .string(d.name), "url": .string(d.url)])
                try d.replicate(with: [a], pki: pki)
                _ = try await pollUntil("10,000 records on node-d", timeout: 60) { try await d.count("dog") == total ? true : nil }
                let log = d.replicatorLog
                #expect(log.contains("first sync of this database: full copy from this peer"), "node-d copied rather than replaying the log")
                #expect(log.contains("full copy finished"))
                let r = try #require(try await record(d, "dog", 5000))
                #expect(r["name"] == "dog 5000")

                // The users came with the system database: rita logs in on node-d.
                let (status, rows) = try await d.node.post(["operation": "search_by_id", "database": "data", "table": "dog", "ids": [7],
                                                            "get_attributes": ["name"]], user: "rita", password: "rita-pass-1")
                #expect(status == 200 && rows.arrayValue?.first?["name"] == "dog 7", "\(status) \(rows)")

                // node-d learned node-b and node-c from hdb_nodes and subscribes to each.
                for peer in [b, c] {
                    _ = try await pollUntil("node-d subscribed to \(peer.name)", timeout: 30) { () -> Bool? in
                        try await d.dataSocket(to: peer.name)?["connected"] == true ? true : nil
                    }
                }
                // ...and they to node-d: a write on node-c reaches node-d, one on node-d reaches node-b.
                _ = try await c.node.insert("data", "dog", [["id": 20_001, "name": "from c"]])
                _ = try await d.node.insert("data", "dog", [["id": 20_002, "name": "from d"]])
                _ = try await pollUntil("node-c's write on node-d", timeout: 30) { try await record(d, "dog", 20_001) }
                _ = try await pollUntil("node-d's write on node-b", timeout: 30) { try await record(b, "dog", 20_002) }
                let status2 = try await d.node.ok(["operation": "cluster_status"])
                let names = Set((status2["connections"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue })
                #expect(names == ["node-a", "node-b", "node-c"], "\(status2)")
            }
        }

        /// A full copy cut off by the publisher's crash continues where it stopped on the
        /// next connection instead of starting over, and ends with every record.
        @Test func anInterruptedFullCopyResumes() async throws {
            let pki = try TestPKI(name: "Skein Test CA")
            defer { pki.remove() }
            try await withPeers(["node-a", "node-b"]) { peers in
                let (a, b) = (peers[0], peers[1])
                try a.replicate(with: [b], pki: pki)
                try await a.node.ok(["operation": "create_table", "database": "data", "table": "ant", "primary_key": "id"])
                let total = 60_000
                for start in stride(from: 1, through: total, by: 2000) {
                    _ = try await a.node.insert("data", "ant", (start..<(start + 2000)).map { ["id": JSON($0), "n": JSON($0 % 97)] })
                }
                try b.replicate(with: [a], pki: pki)
                _ = try await pollUntil("node-b copying from node-a", timeout: 30) { () -> Bool? in
                    (try await b.dataSocket(to: a.name))?["copying"]?.stringValue != nil ? true : nil
                }
                await a.node.kill(.replicator)
                try a.node.start(.replicator)
                _ = try await pollUntil("all \(total) records on node-b", timeout: 120) { try await b.count("ant") == total ? true : nil }
                let log = b.replicatorLog
                #expect(log.contains("full copy resumed"), "the copy started over")
                #expect(log.contains("full copy finished"))
            }
        }

        /// A route with `startTime` copies nothing older: records written before it stay
        /// behind, records written after it arrive (and their table with them).
        @Test func startTimeRouteSkipsOlderData() async throws {
            let pki = try TestPKI(name: "Skein Test CA")
            defer { pki.remove() }
            try await withPeers(["node-a", "node-b"]) { peers in
                let (a, b) = (peers[0], peers[1])
                try a.replicate(with: [b], pki: pki)
                try await a.node.ok(["operation": "create_table", "database": "data", "table": "cat", "primary_key": "id"])
                _ = try await a.node.insert("data", "cat", (1...100).map { ["id": JSON($0), "era": "before"] })
                // The next whole second after these writes.
                let start = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + 1).rounded(.up))
                while Date() < start.addingTimeInterval(0.05) { try await Task.sleep(for: .milliseconds(50)) }
                _ = try await a.node.insert("data", "cat", (101...200).map { ["id": JSON($0), "era": "after"] })

                try b.replicate(with: [a], pki: pki, startTime: ISO8601DateFormatter().string(from: start))
                _ = try await pollUntil("the newer records on node-b", timeout: 30) { try await b.count("cat") == 100 ? true : nil }
                #expect(try await record(b, "cat", 150)?["era"] == "after")
                #expect(try await record(b, "cat", 50) == nil, "a record older than startTime was copied")
                // Streaming goes on after that.
                _ = try await a.node.insert("data", "cat", [["id": 201, "era": "later"]])
                _ = try await pollUntil("a later record on node-b", timeout: 30) { try await record(b, "cat", 201) }
                #expect(try await b.count("cat") == 101)
                #expect(!b.replicatorLog.contains("first sync of this database"), "startTime must not start a full copy")
            }
        }

        /// Users and roles live in the replicated system database: made on one node, they log
        /// in on the other; a password changed there works back on the first.
        @Test func usersAndRolesReplicate() async throws {
            try await withReplicatingPair { a, b in
                try await a.node.ok(["operation": "create_table", "database": "data", "table": "fox", "primary_key": "id"])
                _ = try await a.node.insert("data", "fox", [["id": 1, "name": "Vixen"]])
                try await a.node.ok(["operation": "add_role", "role": "fox_reader", "permission": ["data": ["tables": ["fox": ["read": true]]]]])
                try await a.node.ok(["operation": "add_user", "username": "finn", "password": "first-pass-1", "role": "fox_reader", "active": true])
                let read: JSON = ["operation": "search_by_id", "database": "data", "table": "fox", "ids": [1], "get_attributes": ["name"]]
                let onB = try await pollUntil("finn reading on node-b", timeout: 30) { () -> JSON? in
                    let (status, rows) = try await b.node.post(read, user: "finn", password: "first-pass-1")
                    // (JSON takes a nil literal as null: spell the optional out.)
                    guard status == 200, rows.arrayValue?.isEmpty == false else { return JSON?.none }
                    return rows
                }
                #expect(onB.arrayValue?.first?["name"] == "Vixen", "\(onB)")
                // The role travelled too: finn may not insert on node-b.
                let (denied, _) = try await b.node.post(["operation": "insert", "database": "data", "table": "fox", "records": [["id": 2]]],
                                                        user: "finn", password: "first-pass-1")
                #expect(denied == 403, "\(b.node.outputTail(lines: 20))")

                try await b.node.ok(["operation": "alter_user", "username": "finn", "password": "second-pass-2"])
                _ = try await pollUntil("the new password working on node-a", timeout: 30) { () -> Bool? in
                    let (status, _) = try await a.node.post(read, user: "finn", password: "second-pass-2")
                    return status == 200 ? true : nil
                }
                let (old, _) = try await a.node.post(read, user: "finn", password: "first-pass-1")
                #expect(old == 401)
                let users = try await b.node.ok(["operation": "list_users"])
                #expect(users.arrayValue?.contains { $0["username"] == "finn" } == true)
            }
        }

        /// Nodes without routes to each other join with add_node (on both sides: a node
        /// accepts only names it knows), and remove_node stops the replication.
        @Test func addNodeAndRemoveNodeAtRunTime() async throws {
            try await withUnroutedPair { a, b in
                try await a.node.ok(["operation": "create_table", "database": "data", "table": "eel", "primary_key": "id"])
                let added = try await a.node.ok(["operation": "add_node", "hostname": .string(b.name), "url": .string(b.url)])
                #expect(added["message"] == .string("Successfully added '\(b.url)' to cluster"))
                let (again, body) = try await a.node.post(["operation": "add_node", "hostname": .string(b.name), "url": .string(b.url)])
                #expect(again == 409, "\(body)")
                try await b.node.ok(["operation": "add_node", "hostname": .string(a.name), "url": .string(a.url)])
                try await waitUntilConnected(a, b)
                _ = try await a.node.insert("data", "eel", [["id": 1]])
                _ = try await pollUntil("record 1 on node-b", timeout: 30) { try await record(b, "eel", 1) }
                let routes = try await a.node.ok(["operation": "cluster_get_routes"])
                #expect(routes == [], "YAML routes only: \(routes)")

                // remove_node on node-a: node-a stops subscribing to node-b and refuses it.
                try await a.node.ok(["operation": "remove_node", "hostname": .string(b.name)])
                _ = try await pollUntil("node-a dropping node-b", timeout: 30) { () -> Bool? in
                    try await a.dataSocket(to: b.name) == nil ? true : nil
                }
                _ = try await pollUntil("node-a refusing node-b", timeout: 30) { () -> Bool? in
                    a.replicatorLog.contains("is neither a configured route") ? true : nil
                }
                _ = try await b.node.insert("data", "eel", [["id": 2]])
                try await Task.sleep(for: .seconds(2))
                #expect(try await record(a, "eel", 2) == nil, "a removed node's write arrived")
                let (missing, _) = try await a.node.post(["operation": "remove_node", "hostname": "node-x"])
                #expect(missing == 404)
                let (bad, _) = try await a.node.post(["operation": "add_node", "url": "http://nope"])
                #expect(bad == 400)
            }
        }

        /// A certificate from the right CA, carrying the right name, is refused when its
        /// serial is listed in tls.revokedSerials; nothing it offers is applied.
        @Test func revokedCertificateIsRefused() async throws {
            let pki = try TestPKI(name: "Skein Test CA")
            defer { pki.remove() }
            try await withPeers(["node-a", "node-b"]) { peers in
                let (a, b) = (peers[0], peers[1])
                try b.replicate(with: [a], pki: pki)
                let serial = try TestPKI.serial(ofCertificate: b.node.root + "/node.pem")
                try a.replicate(with: [b], pki: pki, extra: ["tls.revokedSerials": [.string(serial)]])
                try await b.node.ok(["operation": "create_table", "database": "data", "table": "rat", "primary_key": "id"])
                _ = try await b.node.insert("data", "rat", [["id": 1]])
                _ = try await pollUntil("node-a refusing node-b's revoked certificate", timeout: 30) { () -> Bool? in
                    a.replicatorLog.contains("is revoked (tls.revokedSerials)") ? true : nil
                }
                // node-a still publishes nothing to node-b either, and has nothing of node-b's.
                #expect(try await a.count("rat") == nil)
            }
        }

        /// drop_table stays on its node unless `replicated: true` (Harper's rule); a peer's
        /// next write to a table dropped here brings it back (as Harper's table structures
        /// do), and writes to other tables flow on.
        @Test func dropTableReplicatesOnlyWhenAsked() async throws {
            try await withReplicatingPair { a, b in
                for table in ["keep", "gone", "live"] {
                    try await a.node.ok(["operation": "create_table", "database": "data", "table": .string(table), "primary_key": "id"])
                    _ = try await a.node.insert("data", table, [["id": 1]])
                }
                _ = try await pollUntil("the tables on node-b", timeout: 30) { try await b.count("live") == 1 ? true : nil }
                try await a.node.ok(["operation": "drop_table", "database": "data", "table": "keep"])
                try await a.node.ok(["operation": "drop_table", "database": "data", "table": "gone", "replicated": true])
                _ = try await pollUntil("the replicated drop on node-b", timeout: 30) { try await b.count("gone") == nil ? true : nil }
                #expect(try await b.count("keep") == 1, "a local drop travelled")

                // node-b drops `keep` locally; node-a's next write to it brings it back there,
                // and writes to other tables still flow.
                try await a.node.ok(["operation": "create_table", "database": "data", "table": "keep", "primary_key": "id"])
                try await b.node.ok(["operation": "drop_table", "database": "data", "table": "keep"])
                _ = try await a.node.insert("data", "keep", [["id": 2]])
                _ = try await a.node.insert("data", "live", [["id": 2]])
                _ = try await pollUntil("record 2 of live on node-b", timeout: 30) { try await record(b, "live", 2) }
                _ = try await pollUntil("record 2 of keep back on node-b", timeout: 30) { try await record(b, "keep", 2) }
            }
        }

        /// Every database replicates by default: one created on node-a (explicitly, or by a
        /// create_table into it) appears on node-b with its tables and records.
        @Test func newDatabasesReplicate() async throws {
            try await withReplicatingPair { a, b in
                try await a.node.ok(["operation": "create_database", "database": "dev"])
                try await a.node.ok(["operation": "create_table", "database": "dev", "table": "owl", "primary_key": "id"])
                _ = try await a.node.insert("dev", "owl", [["id": 1, "name": "Hedwig"]])
                try await a.node.ok(["operation": "create_table", "database": "lab", "table": "bat", "primary_key": "id"])
                _ = try await a.node.insert("lab", "bat", [["id": 7]])
                for (db, table, id) in [("dev", "owl", 1), ("lab", "bat", 7)] {
                    let body: JSON = ["operation": "search_by_id", "database": .string(db), "table": .string(table), "ids": [JSON(id)], "get_attributes": ["*"]]
                    _ = try await pollUntil("\(db).\(table) \(id) on node-b", timeout: 30) { () -> Bool? in
                        let (status, rows) = try await b.node.post(body)
                        return status == 200 && rows.arrayValue?.isEmpty == false ? true : nil
                    }
                }
                // And back: a write on node-b to the new database reaches node-a.
                _ = try await b.node.insert("dev", "owl", [["id": 2, "name": "Errol"]])
                _ = try await pollUntil("dev.owl 2 on node-a", timeout: 30) { () -> Bool? in
                    let (status, rows) = try await a.node.post(["operation": "search_by_id", "database": "dev", "table": "owl", "ids": [2], "get_attributes": ["name"]])
                    return status == 200 && rows.arrayValue?.first?["name"] == "Errol" ? true : nil
                }
            }
        }

        /// drop_database with `replicated: true` travels in the system database's log (the
        /// database's own log goes with it); without it the drop stays local.
        @Test func dropDatabaseReplicatesOnlyWhenAsked() async throws {
            try await withReplicatingPair { a, b in
                for db in ["scratch1", "scratch2"] {
                    try await a.node.ok(["operation": "create_database", "database": .string(db)])
                    _ = try await pollUntil("\(db) on node-b", timeout: 30) { () -> Bool? in
                        let (status, _) = try await b.node.post(["operation": "describe_database", "database": .string(db)])
                        return status == 200 ? true : nil
                    }
                }
                try await a.node.ok(["operation": "drop_database", "database": "scratch1"])
                try await a.node.ok(["operation": "drop_database", "database": "scratch2", "replicated": true])
                _ = try await pollUntil("scratch2 dropped on node-b", timeout: 30) { () -> Bool? in
                    let (status, _) = try await b.node.post(["operation": "describe_database", "database": "scratch2"])
                    return status == 404 ? true : nil
                }
                let (kept, _) = try await b.node.post(["operation": "describe_database", "database": "scratch1"])
                #expect(kept == 200, "a local drop_database travelled")
            }
        }
    }
}
