import Foundation
import SkeinCore
import SkeinLauncher
import Testing

extension ProcessTests {
    /// `skein cluster up` with every address and port option: the nodes answer on exactly
    /// those (operations API, REST, replication), not on the defaults, and `cluster.json`
    /// and the summary name them.
    @Suite(.serialized) struct LauncherPortsTests {
        @Test func upPutsTheNodesOnTheAddressesAndPortsGiven() async throws {
            let cli = try LauncherCLI.make()
            defer { cli.tearDown() }
            let first = LauncherCLI.unusedFirstAddress()
            let addresses = [first, String(first.dropLast()) + "2"]
            let api = TestNode.freePort(), replication = TestNode.freePort(), rest = TestNode.freePort()
            let up = try cli.ok("cluster", "up", "--nodes", "2", "--first-address", first, "--port", String(api),
                                "--replication-port", String(replication), "--rest-port", String(rest))

            let manifest = try cli.manifest()
            let nodes = try #require(manifest["nodes"]?.arrayValue)
            #expect(nodes.count == 2)
            for (node, address) in zip(nodes, addresses) {
                let name = node["name"]?.stringValue ?? "?"
                #expect(node["host"] == .string(address), "\(node)")
                #expect(node["operations_url"] == .string("http://\(address):\(api)"), "\(node)")
                #expect(node["replication_url"] == .string("wss://\(address):\(replication)"), "\(node)")
                #expect(up.contains("\(name)  http://\(address):\(api)  config"), "\(up)")
                #expect(await OperationsClient(baseURL: "http://\(address):\(api)", credentials: nil).isHealthy(), "\(name) /health on \(api)")
                let onDefault = await OperationsClient(baseURL: "http://\(address):9925", credentials: nil).isHealthy(timeout: 1)
                #expect(!onDefault, "\(name) answers on the default port 9925 too")
            }
            // The replicators listen on the port given: the peers dial it and their links connect.
            try cli.expectConnected([("node-a", "node-b"), ("node-b", "node-a")], "with replication on port \(replication)")

            // The REST interface on the port given: a record written on node-a, read on node-b's.
            _ = try await pollUntil("create_table through ctl", timeout: 30) {
                try cli.run(["ctl", "create_table", "--json", #"{"database":"data","table":"dog","primary_key":"id"}"#]).status == 0 ? true : nil
            }
            try cli.ok("ctl", "insert", "--json", #"{"database":"data","table":"dog","records":[{"id":1,"name":"Harper"}]}"#)
            let login = "admin:" + (manifest["password"]?.stringValue ?? "")
            let record = try await pollUntil("the record through node-b's REST port", timeout: 40) { () -> String? in
                let (status, body) = try runTool("/usr/bin/curl", ["-sf", "-u", login, "http://\(addresses[1]):\(rest)/dog/1"])
                return status == 0 && body.contains("Harper") ? body : nil
            }
            #expect(record.contains("\"id\":1") || record.contains("\"id\": 1"), "\(record)")
            let onDefault = try runTool("/usr/bin/curl", ["-s", "-u", login, "http://\(addresses[1]):9926/dog/1"])
            #expect(onDefault.status == 7, "curl to the default REST port 9926: \(onDefault)")
        }

        /// A port another process listens on (here a plain socket on node-b's operations
        /// port, as another local cluster's node would): `up` names it and starts nothing,
        /// instead of reporting a cluster whose node-b `/health` was another process's.
        @Test func upRefusesAPortAnotherProcessHolds() async throws {
            let cli = try LauncherCLI.make()
            defer { cli.tearDown() }
            let first = LauncherCLI.unusedFirstAddress()
            let second = String(first.dropLast()) + "2"
            let api = TestNode.freePort()
            let holder = try ListeningSocket(host: second, port: api)
            let (status, output) = try cli.run(["cluster", "up", "--nodes", "2", "--first-address", first, "--port", String(api),
                                                "--replication-port", String(TestNode.freePort()), "--rest-port", String(TestNode.freePort())])
            #expect(status != 0, "\(output)")
            #expect(output.contains("ports in use by another process"), "\(output)")
            #expect(output.contains("node-b gateway: \(second):\(api) (operations API)"), "\(output)")
            #expect(!output.contains("node-a gateway: "), "\(output)")
            // Nothing started: node-a's port (free) has no gateway behind it either.
            #expect(await !OperationsClient(baseURL: "http://\(first):\(api)", credentials: nil).isHealthy(timeout: 1))
            holder.close()
            _ = try cli.ok("cluster", "up", "--nodes", "2")
            #expect(await OperationsClient(baseURL: "http://\(second):\(api)", credentials: nil).isHealthy())
        }
    }
}
