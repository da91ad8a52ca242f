import Foundation
import NIOSSL
import SkeinCore
import SkeinLauncher
import SkeinPeerNet
import Testing

extension ProcessTests {
    /// Where connections come from and who holds them: source addresses, one replicator per
    /// region sharing the port, a hand-made client lying about its name, health checks.
    @Suite(.serialized) struct TopologyTests {
        /// Outgoing connections leave from the node's own address, so a firewall rule between
        /// two node addresses is a real partition (the publisher logs where a peer came from).
        @Test func connectionsLeaveFromTheNodesOwnAddress() async throws {
            let pki = try TestPKI(name: "Skein Test CA")
            defer { pki.remove() }
            try await withPeers(["node-a", "node-b"], addresses: ["node-a": "127.0.0.2", "node-b": "127.0.0.3"]) { peers in
                let (a, b) = (peers[0], peers[1])
                try a.replicate(with: [b], pki: pki)
                try b.replicate(with: [a], pki: pki)
                try await waitUntilConnected(a, b)
                #expect(a.replicatorLog.contains(#""remote":"127.0.0.3:"#), "node-b dialled node-a from its own address")
                #expect(b.replicatorLog.contains(#""remote":"127.0.0.2:"#), "node-a dialled node-b from its own address")
                #expect(!a.replicatorLog.contains(#""remote":"127.0.0.1:"#))
            }
        }

        /// node-a runs two replicators, one per region, on one port (SO_REUSEPORT): the `us`
        /// one subscribes to node-b, the `eu` one to node-c; data flows every way, and
        /// cluster_status tells which replicator holds which connection.
        @Test func oneReplicatorPerRegionShareThePort() async throws {
            let pki = try TestPKI(name: "Skein Test CA")
            defer { pki.remove() }
            try await withPeers(["node-a", "node-b", "node-c"]) { peers in
                let (a, b, c) = (peers[0], peers[1], peers[2])
                var config = try pki.issue(node: a.name, into: a.node.root)
                config["replication.securePort"] = JSON(a.port)
                config["replication.host"] = "127.0.0.1"
                config["replication.region"] = "us"
                config["replication.routes"] = [b.route(region: "us").json, c.route(region: "eu").json]
                try a.node.startReplicator(config: config)
                try a.node.startExtra(.replicator, name: "replicator-eu", environment: ["SKEIN_REPLICATION_REGION": "eu"])
                try b.replicate(with: [a, c], pki: pki)
                try c.replicate(with: [a, b], pki: pki)

                try await a.node.ok(["operation": "create_table", "database": "data", "table": "elk", "primary_key": "id"])
                _ = try await a.node.insert("data", "elk", [["id": 1]])
                for peer in [b, c] {
                    _ = try await pollUntil("table elk on \(peer.name)", timeout: 30) { try await peer.count("elk") }
                }
                _ = try await b.node.insert("data", "elk", [["id": 2]])
                _ = try await c.node.insert("data", "elk", [["id": 3]])
                for peer in [a, b, c] {
                    _ = try await pollUntil("3 records on \(peer.name)", timeout: 30) { try await peer.count("elk") == 3 ? true : nil }
                }
                let status = try await pollUntil("node-a's cluster_status from both replicators", timeout: 30) { () -> JSON? in
                    let s = try await a.node.ok(["operation": "cluster_status"])
                    let ok = (s["replicators"]?.arrayValue ?? []).filter { $0["status"] == "ok" }.count
                    let connected = (s["connections"]?.arrayValue ?? []).filter { c in
                        c["database_sockets"]?.arrayValue?.allSatisfy { $0["connected"] == true } == true
                    }.count
                    return ok == 2 && connected == 2 ? s : JSON?.none
                }
                let holders = Dictionary(uniqueKeysWithValues: (status["connections"]?.arrayValue ?? []).compactMap { c in
                    c["name"]?.stringValue.map { ($0, c["replicator"]?.stringValue ?? "") }
                })
                #expect(holders == ["node-b": "us", "node-c": "eu"], "\(status)")
                // Each region's replicator logs its own links to its own file; read_log shows them
                // together. (Only outbound links: node-c's inbound subscriptions land on whichever
                // replicator the kernel picks for the shared port, and either one serves them.)
                func linkLines(_ file: String, to peer: String) -> [Substring] {
                    let log = (try? String(contentsOfFile: a.node.root + "/log/\(file)", encoding: .utf8)) ?? ""
                    return log.split(separator: "\n").filter { $0.contains("\"peer\":\"\(peer)\"") && $0.contains("/replicate/") }
                }
                _ = try await pollUntil("the eu replicator's link to node-c in its log", timeout: 30) { () -> Bool? in
                    linkLines("replicator-eu.log", to: "node-c").isEmpty ? nil : true
                }
                #expect(linkLines("replicator-us.log", to: "node-c").isEmpty)
                #expect(linkLines("replicator-eu.log", to: "node-b").isEmpty)
                let lines = try await a.node.ok(["operation": "read_log", "service": "replicator", "limit": 10000])
                let services = Set((lines.arrayValue ?? []).compactMap { $0["service"]?.stringValue })
                #expect(services == ["replicator-us", "replicator-eu"], "\(services)")
            }
        }

        /// A client with a valid certificate for node-c that says hello as node-b (a name in
        /// the server's routes, but not in its certificate) is refused, logged and counted.
        @Test func aCertificateForAnotherNameIsRefused() async throws {
            let pki = try TestPKI(name: "Skein Test CA")
            defer { pki.remove() }
            try await withPeers(["node-a", "node-b", "node-c"]) { peers in
                let (a, b, c) = (peers[0], peers[1], peers[2])
                try a.replicate(with: [b, c], pki: pki)
                try await a.node.ok(["operation": "create_table", "database": "data", "table": "yak", "primary_key": "id"])
                _ = try await a.node.insert("data", "yak", [["id": 1, "secret": "only for members"]])
                // node-c's real certificate, used by a hand-made client.
                let socket = try await Self.handMadeClient(of: c, dialing: a, pki: pki)
                try await socket.send(text: #"{"type":"hello","node":"node-b"}"#)
                try await socket.send(text: #"{"type":"subscribe","from":1,"origins":["node-a"]}"#)
                var received: [String] = []
                do {
                    while let text = try await socket.receive() { received.append(text) }
                } catch {
                    #expect("\(error)".contains("policy violation"), "\(error)")
                }
                #expect(received.isEmpty, "the server answered a liar: \(received)")
                let log = a.replicatorLog
                #expect(log.contains("refused replication connection") && log.contains(#"stated node name \"node-b\" is not in its certificate"#))
                let status = try await a.node.ok(["operation": "cluster_status"])
                #expect((status["refused_connections"]?.intValue ?? 0) >= 1)
            }
        }

        /// A member that sends a text message that is not UTF-8 (RFC 6455 forbids it; records
        /// pass on unparsed, so the replicator checks each message's bytes) has its
        /// connection closed, with the reason logged; nothing it sent is applied.
        @Test func aMessageThatIsNotUTF8EndsTheConnection() async throws {
            let pki = try TestPKI(name: "Skein Test CA")
            defer { pki.remove() }
            try await withPeers(["node-a", "node-c"]) { peers in
                let (a, c) = (peers[0], peers[1])
                try a.replicate(with: [c], pki: pki)
                let socket = try await Self.handMadeClient(of: c, dialing: a, pki: pki)
                try await socket.send(text: #"{"type":"hello","node":"node-c"}"#)
                // A subscribe frame whose origin name holds a byte that is never UTF-8.
                try await socket.send(utf8: Array(#"{"type":"subscribe","from":1,"origins":["node-"#.utf8) + [0xFF] + Array(#""]}"#.utf8))
                var closed = false
                do {
                    for _ in 0..<50 { guard try await socket.receive() != nil else { closed = true; break } }
                } catch {
                    closed = true
                }
                #expect(closed, "the connection stayed open")
                _ = try await pollUntil("the reason in node-a's replicator log") {
                    a.replicatorLog.contains("a text message that is not UTF-8") ? true : nil
                }
            }
        }

        /// A replication client with `member`'s real certificate, dialling `server`'s
        /// `/replicate/data` (until its replicator, maybe just started, listens): the test
        /// then says what it likes.
        static func handMadeClient(of member: Peer, dialing server: Peer, pki: TestPKI) async throws -> PeerSocket {
            let files = try pki.issue(node: member.name, into: member.node.root)
            let tls = PeerTLSConfiguration.client(chain: try NIOSSLCertificate.fromPEMFile(files["tls.certificate"]!.stringValue!),
                                                  key: try NIOSSLPrivateKey(file: files["tls.privateKey"]!.stringValue!, format: .pem),
                                                  authorities: try NIOSSLCertificate.fromPEMFile(pki.certificate))
            return try await pollUntil("\(server.name)'s replicator listening") {
                try await PeerDialer.connect(host: "127.0.0.1", port: server.port, path: "/replicate/data", serverName: server.name,
                                             sourceAddress: nil, tls: tls)
            }
        }

        /// `--health` asks the running service: 0 while it answers, 1 once it is stopped.
        @Test func healthChecks() async throws {
            try await withNode { node in
                for service in ["store", "auditd", "gateway"] {
                    let code = try Self.health(service, node)
                    #expect(code == 0, "\(service) is up")
                }
                await node.stop(.auditd)
                let stopped = try Self.health("auditd", node), absent = try Self.health("replicator", node)
                #expect(stopped == 1)
                #expect(absent == 1, "no replicator runs")
                // A misspelt option does not start a second store on the same data.
                let typo = try Self.health("store", node, option: "--healt")
                #expect(typo == 2)
            }
        }

        static func health(_ service: String, _ node: TestNode, option: String = "--health") throws -> Int32 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "\(TestNode.binDir)/skein-\(service)")
            p.arguments = [option, "--config", node.configPath]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            return p.terminationStatus
        }
    }
}
