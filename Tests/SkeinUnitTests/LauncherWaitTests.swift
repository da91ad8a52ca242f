import SkeinCore
import SkeinLauncher
import Testing

/// The launcher's pieces that tests, the benchmark and `skein cluster` share to start a
/// node's services and wait for them: the command line, when a link is up, the poll.
@Suite("Launcher: starting and waiting for a node's services")
struct LauncherWaitTests {
    @Test("a service runs as BINDIR/skein-SERVICE --config CONFIG, under a umask through a shell that execs it")
    func serviceLaunch() {
        let plain = ServiceLaunch(.auditd, binDir: "/b", config: "/n/config.yaml")
        #expect(plain.executable == "/b/skein-auditd" && plain.arguments == ["--config", "/n/config.yaml"])
        let masked = ServiceLaunch(.store, binDir: "/b", config: "/n/config.yaml", umask: "000")
        #expect(masked.executable == "/bin/sh")
        #expect(masked.arguments == ["-c", "umask 000 && exec \"$0\" \"$@\"", "/b/skein-store", "--config", "/n/config.yaml"])
    }

    static let status: JSON = [
        "is_enabled": true,
        "connections": [
            ["name": "node-b", "database_sockets": [["database": "system", "connected": true], ["database": "data", "connected": true]]],
            ["name": "node-c", "database_sockets": [["database": "system", "connected": true], ["database": "data", "connected": false]]],
            ["name": "node-d", "database_sockets": [["database": "system", "connected": true]]],
            ["name": "node-e", "database_sockets": []],
        ],
    ]

    @Test("a link is up when every database socket of the peer's connection is connected")
    func connectedPeers() {
        #expect(ReplicationLinks.connectedPeers(in: Self.status) == ["node-b", "node-d"])
        #expect(ReplicationLinks.connectedPeers(in: Self.status, requiring: ["data"]) == ["node-b"])
        var stopped = Self.status
        stopped["is_enabled"] = false
        #expect(ReplicationLinks.connectedPeers(in: stopped).isEmpty, "no replicator runs: no link is up")
    }

    @Test("a route carries its start time and region as the config loader reads them")
    func routeFields() throws {
        var builder = NodeConfigBuilder(rootPath: "/tmp/skl/node-a")
        builder.set("replication.hostname", "node-a")
        builder.set("replication.routes", [NodeConfigBuilder.Route(hostname: "node-b", host: "127.0.0.2", port: 9933,
                                                                    startTime: "2026-01-01T00:00:00Z", region: "eu").json])
        let route = try #require(try builder.validated().routes.first)
        #expect(route.hostname == "node-b" && route.region == "eu" && route.startTime != nil)
    }

    @Test("a poll returns the first value, or nil once the time is up")
    func poll() async throws {
        // A long timeout for the first: under the parallel suite a 1 ms sleep can take seconds.
        var calls = 0
        let third = try await Poll(timeout: 600, every: .milliseconds(1)).until { () -> Int? in
            calls += 1
            return calls == 3 ? calls : nil
        }
        #expect(third == 3)
        let none = try await Poll(timeout: 0.05, every: .milliseconds(10)).until { () -> Int? in nil }
        #expect(none == nil)
    }
}
