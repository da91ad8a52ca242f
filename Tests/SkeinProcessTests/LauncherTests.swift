import Foundation
import SkeinCore
import Testing

extension ProcessTests {
    /// `skein cluster` end to end, the way README tells a person to use it: a 2-node
    /// cluster on addresses of its own (127.R.S.1 and .2, R and S random, so it meets no
    /// other test's or developer's cluster), replication through `ctl`, a service stopped
    /// and started, logs, and `down` leaving nothing running.
    @Suite(.serialized) struct LauncherTests {
        @Test func aTwoNodeClusterReplicatesAndStopsCleanly() async throws {
            let cli = try LauncherCLI.make()
            let first = LauncherCLI.unusedFirstAddress()
            defer { cli.tearDown() }
            try cli.ok("cluster", "up", "--nodes", "2", "--first-address", first)
            // "up" means replicating: each node's links to the other are connected by now.
            try cli.expectConnected([("node-a", "node-b"), ("node-b", "node-a")], "right after up")

            let status = try cli.ok("cluster", "status")
            for node in ["node-a", "node-b"] {
                for service in ["store", "auditd", "gateway", "replicator"] {
                    #expect(status.contains("\(node) \(service) running pid"), "\(node) \(service) in:\n\(status)")
                }
            }
            // The gateway's line says where its operations API answers, the replicator's where peers dial.
            for entry in try cli.manifest()["nodes"]?.arrayValue ?? [] {
                let name = entry["name"]?.stringValue ?? "?", url = entry["operations_url"]?.stringValue ?? "?"
                #expect(status.contains("\(name) gateway running pid") && status.split(separator: "\n").contains { $0.hasPrefix("\(name) gateway") && $0.hasSuffix("operations API \(url)") },
                        "\(name) at \(url) in:\n\(status)")
                #expect(status.split(separator: "\n").contains { $0.hasPrefix("\(name) replicator") && $0.contains("peers at wss://") }, "\(status)")
            }
            // Tab completes a NODE argument or --node with the cluster's nodes.
            for line in ["skein cluster stop ", "skein cluster logs node-", "skein ctl cluster_status --node "] {
                #expect(try cli.complete(line) == ["node-a", "node-b"], "\(line)")
            }
            #expect(try cli.complete("skein cluster start node-b") == ["node-b"])

            let manifest = try cli.manifest()
            let nodes = try #require(manifest["nodes"]?.arrayValue)
            #expect(nodes.map { $0["name"]?.stringValue } == ["node-a", "node-b"])
            #expect(nodes.last?["operations_url"] == .string("http://\(first.dropLast())2:9925"))
            #expect(manifest["username"] == "admin" && manifest["password"]?.stringValue?.isEmpty == false)
            let pids = nodes.flatMap { node in ["store", "auditd", "gateway", "replicator"].compactMap { node["services"]?[$0]?.intValue } }
            #expect(pids.count == 8)

            _ = try await pollUntil("create_table through ctl", timeout: 30) {
                try cli.run(["ctl", "create_table", "--json", #"{"database":"data","table":"dog","primary_key":"id"}"#]).status == 0 ? true : nil
            }
            try cli.ok("ctl", "insert", "--json", #"{"database":"data","table":"dog","records":[{"id":1,"name":"Harper"}]}"#)
            let read = try await pollUntil("the record on node-b", timeout: 40) { () -> String? in
                let answer = try cli.ok("ctl", "search_by_id", "--node", "node-b",
                                        "--json", #"{"database":"data","table":"dog","ids":[1],"get_attributes":["*"]}"#)
                return answer.contains("Harper") ? answer : nil
            }
            #expect(read.contains("\"id\":1") || read.contains("\"id\": 1"))

            try cli.ok("cluster", "stop", "node-b", "gateway")
            #expect(try cli.ok("cluster", "status").contains("node-b gateway stopped"))
            #expect(try cli.manifest()["nodes"]?.arrayValue?.last?["services"]?["gateway"] == .null)
            try cli.ok("cluster", "start", "node-b", "gateway")
            #expect(try cli.ok("cluster", "status").contains("node-b gateway running pid"))
            // kill (SIGKILL) leaves it down until start, as stop does.
            try cli.ok("cluster", "kill", "node-b", "gateway")
            #expect(try cli.ok("cluster", "status").contains("node-b gateway stopped"))
            try cli.ok("cluster", "start", "node-b", "gateway")
            #expect(try cli.ok("cluster", "status").contains("node-b gateway running pid"))
            // A node started again (or added) is back once its links are: start returns only then.
            try cli.ok("cluster", "stop", "node-b")
            let started = try cli.ok("cluster", "start", "node-b", "--replication-timeout", "60")
            #expect(started.contains("replication connected: node-a → node-b, node-b → node-a"), "\(started)")
            try cli.expectConnected([("node-a", "node-b"), ("node-b", "node-a")], "right after start node-b")
            let added = try cli.ok("cluster", "add-node", "--replication-timeout", "60")
            #expect(added.contains("announced node-c"), "\(added)")
            try cli.expectConnected([("node-a", "node-c"), ("node-b", "node-c"), ("node-c", "node-a"), ("node-c", "node-b")],
                                "right after add-node")
            // The links still down are named: node-b's replicator started on another port than node-a dials.
            try cli.ok("cluster", "stop", "node-b", "replicator")
            let (failed, output) = try cli.run(["cluster", "start", "node-b", "replicator", "--replication-timeout", "3"],
                                               environment: ["SKEIN_REPLICATION_SECUREPORT": String(TestNode.freePort())])
            #expect(failed != 0, "\(output)")
            #expect(output.contains("replication links not connected within 3 s: node-a → node-b"), "\(output)")
            // It says what it waited for and which logs to read: the replicators at both ends.
            #expect(output.contains("waited for: each link's connection, every database connected, in the cluster_status"), "\(output)")
            for node in ["node-a", "node-b"] {
                #expect(output.contains(cli.clusterDir + "/\(node)/log/replicator.log"), "\(output)")
            }
            #expect(!output.contains("/health"), "start of a replicator alone waits for no /health: \(output)")
            // Once the admin's password is changed, the launcher cannot read the links: it says so
            // at its first refused answer and returns, rather than failing logins until it times out.
            try cli.ok("cluster", "stop", "node-b", "replicator")
            try cli.ok("ctl", "alter_user", "--json", #"{"username":"admin","password":"Changed-pass-42"}"#)
            let beforeUnchecked = ContinuousClock.now
            let unchecked = try cli.ok("cluster", "start", "node-b", "replicator", "--replication-timeout", "60")
            #expect(unchecked.contains("replication links not checked: node-"), "\(unchecked)")
            #expect(unchecked.contains("answered 401 to cluster_status with the credentials in " + cli.clusterDir + "/credentials"), "\(unchecked)")
            #expect(ContinuousClock.now - beforeUnchecked < .seconds(30), "it waited on after a refusal")
            #expect(try cli.ok("cluster", "logs", "node-a", "gateway").contains("\"level\""))
            #expect(try cli.ok("cluster", "logs", "node-a", "gateway", "--output").contains("gateway listening"))
            #expect(try cli.run(["cluster", "logs", "node-z", "gateway"]).status != 0)

            let running = try cli.manifest()["nodes"]?.arrayValue?.flatMap { node in
                ["store", "auditd", "gateway", "replicator"].compactMap { node["services"]?[$0]?.intValue }
            } ?? []
            try cli.ok("cluster", "down")
            for pid in running {
                // A zombie (exited, not yet reaped by its new parent) has an empty command line.
                let commandLine = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()
                #expect(commandLine.isEmpty, "pid \(pid) still running after down")
            }
            #expect(!(try cli.ok("cluster", "status").contains("running")))
        }

        /// `up` waits for replication too, and says which links did not connect: here every
        /// replicator listens on another port than its peers dial (an override reaching the
        /// services), so none can.
        @Test func upNamesTheReplicationLinksThatDoNotConnect() throws {
            let cli = try LauncherCLI.make()
            let first = LauncherCLI.unusedFirstAddress()
            defer { cli.tearDown() }
            let started = ContinuousClock.now
            let (status, output) = try cli.run(["cluster", "up", "--nodes", "2", "--first-address", first, "--replication-timeout", "3"],
                                               environment: ["SKEIN_REPLICATION_SECUREPORT": String(TestNode.freePort())])
            #expect(status != 0, "\(output)")
            #expect(output.contains("replication links not connected within 3 s: node-a → node-b, node-b → node-a"), "\(output)")
            #expect(ContinuousClock.now - started < .seconds(60))
        }

        /// `skein pki`, as the docker image's `certs` and make-secrets run it: a CA and a node
        /// certificate that openssl verifies for both TLS roles, with the names asked for,
        /// keys 0600, and a second run keeping every file as it was.
        @Test func pkiMakesACAAndNodeCertificatesOnce() throws {
            let cli = try LauncherCLI.make()
            defer { try? FileManager.default.removeItem(atPath: cli.clusterDir) }
            let ca = cli.clusterDir + "/pki", node = cli.clusterDir + "/nodes/node-x/tls"
            let makeCA = ["pki", "ca", ca, "--name", "Test cluster CA"]
            let makeNode = ["pki", "node", node, "--ca", ca, "--name", "node-x", "--dns", "localhost", "--ip", "127.0.0.1"]
            #expect(try cli.run(makeNode).status != 0, "a node certificate without a CA")
            #expect(try cli.ok(makeCA).contains("made a CA"))
            #expect(try cli.ok(makeNode).contains("made a certificate for node-x"))

            for purpose in ["sslserver", "sslclient"] {
                let (status, output) = try runTool("/usr/bin/openssl", ["verify", "-purpose", purpose, "-CAfile", ca + "/ca.pem", node + "/node.pem"])
                #expect(status == 0, "\(purpose): \(output)")
            }
            let text = try runTool("/usr/bin/openssl", ["x509", "-noout", "-subject", "-ext", "subjectAltName,basicConstraints", "-in", node + "/node.pem"]).output
            #expect(text.contains("CN = node-x") || text.contains("CN=node-x"), "\(text)")
            #expect(text.contains("DNS:node-x, DNS:localhost, IP Address:127.0.0.1"), "\(text)")
            #expect(text.contains("CA:FALSE"), "\(text)")
            for key in [ca + "/ca.key", node + "/node.key"] {
                let mode = try FileManager.default.attributesOfItem(atPath: key)[.posixPermissions] as? Int
                #expect(mode == 0o600, "\(key)")
            }

            let files = [ca + "/ca.pem", ca + "/ca.key", node + "/node.pem", node + "/node.key"]
            let before = files.map { FileManager.default.contents(atPath: $0) }
            #expect(try cli.ok(makeCA).contains("kept"))
            #expect(try cli.ok(makeNode).contains("kept"))
            #expect(files.map { FileManager.default.contents(atPath: $0) } == before)
        }
    }
}
