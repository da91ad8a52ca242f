import SkeinCore
import SkeinLauncher
import Testing

/// The launcher's config builder: what it writes is what the services read.
@Suite("Launcher: node config builder")
struct NodeConfigBuilderTests {
    func replicatingNode() -> NodeConfigBuilder {
        var builder = NodeConfigBuilder(rootPath: "/tmp/skl/node-a")
        builder.operationsAPI(host: "127.0.0.1", port: 9925)
        builder.admin(username: "admin", password: "Quite-s3cret")
        builder.logging(level: "debug", auditRetention: "2d")
        builder.replication(hostname: "node-a", host: "127.0.0.1", port: 9933, url: "wss://127.0.0.1:9933",
                            routes: [.init(hostname: "node-b", host: "127.0.0.2", port: 9933)])
        builder.tls(certificate: "/c/node.pem", privateKey: "/c/node.key", authority: "/c/ca.pem")
        return builder
    }

    @Test("typed settings come back from NodeConfig as set")
    func builtConfigReadsBack() throws {
        var builder = replicatingNode()
        builder.rest(port: 9940)
        let config = try builder.validated()
        #expect(config.rootPath == "/tmp/skl/node-a")
        #expect(config.httpHost == "127.0.0.1" && config.httpPort == 9925 && config.restPort == 9940)
        #expect(config.adminUsername == "admin" && config.adminPassword == "Quite-s3cret")
        #expect(config.logLevel == "debug" && config.auditRetentionSeconds == 2 * 86_400)
        #expect(config.nodeName == "node-a" && config.replicationPort == 9933 && config.replicateAllDatabases)
        #expect(config.routes.map(\.hostname) == ["node-b"] && config.routes.first?.host == "127.0.0.2")
        #expect(config.tlsCertificate == "/c/node.pem" && config.tlsCertificateAuthority == "/c/ca.pem")
    }

    @Test("a bad value is caught before any process starts")
    func invalidConfigIsRefused() {
        var builder = replicatingNode()
        builder.admin(username: "admin", password: "password")
        #expect(throws: ConfigError.self) { try builder.validated() }
    }

    @Test("rewriting the launcher's sections keeps the user's edits to the others")
    func launcherSectionsReplaceOnlyThemselves() throws {
        let edited = "# mine\n" + replicatingNode().yaml() + "storage:\n  mapSize: 1G\n"
        var next = replicatingNode()
        next.replication(hostname: "node-a", host: "127.0.0.1", port: 9933, routes: [
            .init(hostname: "node-b", host: "127.0.0.2", port: 9933), .init(hostname: "node-c", host: "127.0.0.3", port: 9933),
        ])
        let text = YAMLDocument.replacingSections(["replication", "tls"], in: edited, with: next.yaml(sections: ["replication", "tls"]))
        let config = try NodeConfig.parse(yaml: text)
        #expect(text.hasPrefix("# mine\n"))
        #expect(config.mapSize == 1 << 30)
        #expect(config.routes.map(\.hostname) == ["node-b", "node-c"])
        #expect(text.components(separatedBy: "replication:").count == 2)
    }
}
