import Foundation
import Testing
@testable import SkeinCore

@Suite("Node configuration")
struct ConfigTests {
    static let fullYAML = """
        rootPath: /srv/skein/node-a
        operationsApi:
          network:
            host: 0.0.0.0
            port: 9926
            maxBodySize: 20M
        http:
          port: 9927
        rest:
          exportTables: [dog, dev.cat]
        replication:
          hostname: node-a
          url: wss://node-a.example:9933
          securePort: 9934
          routes:
            - hostname: node-b
              port: 9933
        logging:
          level: debug
          root: /var/log/skein
          auditLog: false
          auditRetention: 12h
          maxSize: 100K
        storage:
          mapSize: 2G
        services:
          runDir: /tmp/skein-run
          store: ipc:///tmp/skein-run/s.sock
          storeNotices: tcp://127.0.0.1:5556
          auditd: ipc:///tmp/skein-run/a.sock
          timeoutMs: 2500
        \(CurveConfigTests.keysYAML)
        admin:
          username: root
          password: s3cret-pw
        """

    @Test func fullConfiguration() throws {
        let c = try NodeConfig.parse(yaml: Self.fullYAML)
        #expect(c.rootPath == "/srv/skein/node-a")
        #expect(c.dataDir == "/srv/skein/node-a/database")
        #expect(c.httpHost == "0.0.0.0")
        #expect(c.httpPort == 9926)
        #expect(c.restHost == "0.0.0.0" && c.restPort == 9927)
        #expect(c.restExports == RESTExports(list: ["dev.cat", "data.dog"]))
        #expect(c.maxBodySize == 20 << 20)
        #expect(c.nodeName == "node-a")
        #expect(c.replicationURL == "wss://node-a.example:9933")
        #expect(c.replicationPort == 9934)
        #expect(c.logLevel == "debug")
        #expect(c.logDir == "/var/log/skein")
        #expect(c.auditLog == false)
        #expect(c.auditRetentionSeconds == 12 * 3600)
        #expect(c.auditMaxSize == 100 << 10)
        #expect(c.mapSize == 2 << 30)
        #expect(c.runDir == "/tmp/skein-run")
        #expect(c.storeEndpoint == "ipc:///tmp/skein-run/s.sock")
        #expect(c.storeNoticesEndpoint == "tcp://127.0.0.1:5556")
        #expect(c.storeFeedEndpoint == nil, "notices on tcp:// and no feed set: no feed")
        #expect(c.auditdEndpoint == "ipc:///tmp/skein-run/a.sock")
        #expect(c.timeoutMillis == 2500)
        #expect(c.adminUsername == "root")
        #expect(c.adminPassword == "s3cret-pw")
    }

    @Test func restPortMustDifferFromTheOperationsPort() {
        #expect(throws: ConfigError.self) { try NodeConfig.parse(yaml: "rootPath: /r\noperationsApi:\n  network:\n    port: 9926\n") }
        #expect((try? NodeConfig.parse(yaml: "rootPath: /r\noperationsApi:\n  network:\n    port: 9926\nhttp:\n  port: 9936\n"))?.restPort == 9936)
    }

    @Test func defaultsWithOnlyRootPath() throws {
        let c = try NodeConfig.parse(yaml: "rootPath: /r")
        #expect(c.rootPath == "/r")
        #expect(c.dataDir == "/r/database")
        #expect(c.httpHost == "127.0.0.1")
        #expect(c.httpPort == 9925)
        #expect(c.restHost == "127.0.0.1" && c.restPort == 9926 && c.restExports == .all)
        #expect(c.maxBodySize == 10 << 20)
        #expect(c.nodeName == "node")
        #expect(c.replicationURL == nil)
        #expect(c.replicationPort == 9933)
        #expect(c.logLevel == "info")
        #expect(c.logDir == "/r/log")
        #expect(c.auditLog == true)
        #expect(c.auditRetentionSeconds == 3 * 86400)
        #expect(c.auditMaxSize == 1 << 30)
        #expect(c.mapSize == 64 << 30)
        #expect(c.indexBacklogLimit == 131_072)
        #expect(try NodeConfig.parse(yaml: "rootPath: /r\nstorage:\n  indexBacklogLimit: 0").indexBacklogLimit == nil, "0: no limit")
        #expect(c.runDir == "/r/run")
        #expect(c.storeEndpoint == "ipc:///r/run/store.sock")
        #expect(c.storeNoticesEndpoint == "ipc:///r/run/store-notices.sock")
        #expect(c.storeFeedEndpoint == "ipc:///r/run/store-feed.sock")
        #expect(c.auditdEndpoint == "ipc:///r/run/auditd.sock")
        #expect(c.timeoutMillis == 10_000)
        #expect(c.adminUsername == nil)
        #expect(c.adminPassword == nil)
    }

    @Test func runDirMovesDefaultEndpoints() throws {
        let c = try NodeConfig.parse(yaml: "rootPath: /r\nservices:\n  runDir: /x")
        #expect(c.storeEndpoint == "ipc:///x/store.sock")
        #expect(c.auditdEndpoint == "ipc:///x/auditd.sock")
        #expect(c.storeFeedEndpoint == "ipc:///x/store-feed.sock")
    }

    /// The commit feed can be turned off (publishers then read every entry through auditd)
    /// or put elsewhere.
    @Test func theCommitFeedIsOffOrWhereItIsSet() throws {
        #expect(try NodeConfig.parse(yaml: "rootPath: /r\nservices:\n  storeFeed: \"off\"").storeFeedEndpoint == nil)
        #expect(try NodeConfig.parse(yaml: "rootPath: /r\nservices:\n  storeFeed: ipc:///f/feed.sock").storeFeedEndpoint == "ipc:///f/feed.sock")
        #expect((try? NodeConfig.parse(yaml: "rootPath: /r\nservices:\n  storeFeed: http://x")) == nil)
    }

    @Test func environmentOverrides() throws {
        let env = [
            "SKEIN_OPERATIONSAPI_NETWORK_PORT": "9930",
            "SKEIN_LOGGING_LEVEL": "DEBUG",
            "SKEIN_LOGGING_AUDITLOG": "false",
            "SKEIN_LOGGING_AUDITRETENTION": "15m",
            "SKEIN_REPLICATION_HOSTNAME": "node-z",
        ]
        let c = try NodeConfig.parse(yaml: Self.fullYAML, environment: env)
        #expect(c.httpPort == 9930)
        #expect(c.logLevel == "debug")
        #expect(c.auditLog == false)
        #expect(c.auditRetentionSeconds == 900)
        #expect(c.nodeName == "node-z")
        // Untouched keys keep the file's values.
        #expect(c.httpHost == "0.0.0.0")
    }

    @Test func environmentCanSupplyRootPathAndAdmin() throws {
        let c = try NodeConfig.parse(yaml: "", environment: [
            "SKEIN_ROOTPATH": "/from/env", "HDB_ADMIN_USERNAME": "admin", "HDB_ADMIN_PASSWORD": "pw",
        ])
        #expect(c.rootPath == "/from/env")
        #expect(c.adminUsername == "admin")
        #expect(c.adminPassword == "pw")
        // The YAML's admin keys win over HDB_ variables.
        let d = try NodeConfig.parse(yaml: "rootPath: /r\nadmin:\n  username: yaml", environment: ["HDB_ADMIN_USERNAME": "env"])
        #expect(d.adminUsername == "yaml")
    }

    @Test func environmentValueIsValidatedToo() {
        expectConfigError(key: "operationsApi.network.port") {
            try NodeConfig.parse(yaml: "rootPath: /r", environment: ["SKEIN_OPERATIONSAPI_NETWORK_PORT": "nope"])
        }
        expectConfigError(key: "logging.level") {
            try NodeConfig.parse(yaml: "rootPath: /r", environment: ["SKEIN_LOGGING_LEVEL": "shout"])
        }
    }

    @Test(arguments: [
        ("missing rootPath", "logging:\n  level: info", "rootPath"),
        ("empty rootPath", "rootPath: ''", "rootPath"),
        ("port 70000", "rootPath: /r\noperationsApi:\n  network:\n    port: 70000", "operationsApi.network.port"),
        ("port 0", "rootPath: /r\noperationsApi:\n  network:\n    port: 0", "operationsApi.network.port"),
        ("port abc", "rootPath: /r\noperationsApi:\n  network:\n    port: abc", "operationsApi.network.port"),
        ("securePort", "rootPath: /r\nreplication:\n  securePort: 99999", "replication.securePort"),
        ("logging.level loud", "rootPath: /r\nlogging:\n  level: loud", "logging.level"),
        ("auditRetention", "rootPath: /r\nlogging:\n  auditRetention: 3 parsecs", "logging.auditRetention"),
        ("maxSize -1", "rootPath: /r\nlogging:\n  maxSize: \"-1\"", "logging.maxSize"),
        ("maxSize 0", "rootPath: /r\nlogging:\n  maxSize: 0", "logging.maxSize"),
        ("mapSize", "rootPath: /r\nstorage:\n  mapSize: lots", "storage.mapSize"),
        ("maxBodySize", "rootPath: /r\noperationsApi:\n  network:\n    maxBodySize: 10Q", "operationsApi.network.maxBodySize"),
        ("auditLog", "rootPath: /r\nlogging:\n  auditLog: maybe", "logging.auditLog"),
        ("services.store http", "rootPath: /r\nservices:\n  store: http://x", "services.store"),
        ("services.auditd", "rootPath: /r\nservices:\n  auditd: /tmp/a.sock", "services.auditd"),
        ("long ipc path", "rootPath: /r\nservices:\n  runDir: /" + String(repeating: "d", count: 120), "services.store"),
        ("timeoutMs 0", "rootPath: /r\nservices:\n  timeoutMs: 0", "services.timeoutMs"),
        ("timeoutMs text", "rootPath: /r\nservices:\n  timeoutMs: soon", "services.timeoutMs"),
        ("rootPath a list", "rootPath: [a, b]", "rootPath"),
        ("https without tls", "rootPath: /r\noperationsApi:\n  network:\n    securePort: 9443", "operationsApi.network.securePort"),
        ("https on the http port", "rootPath: /r\ntls:\n  certificate: /c\n  privateKey: /k\noperationsApi:\n  network:\n    securePort: 9925", "operationsApi.network.securePort"),
        ("maxConnections 0", "rootPath: /r\noperationsApi:\n  network:\n    maxConnections: 0", "operationsApi.network.maxConnections"),
        ("maxAttributesPerTable", "rootPath: /r\nstorage:\n  maxAttributesPerTable: -3", "storage.maxAttributesPerTable"),
        ("indexBacklogLimit -1", "rootPath: /r\nstorage:\n  indexBacklogLimit: -1", "storage.indexBacklogLimit"),
        ("indexBacklogLimit text", "rootPath: /r\nstorage:\n  indexBacklogLimit: many", "storage.indexBacklogLimit"),
        ("rotation maxSize", "rootPath: /r\nlogging:\n  rotation:\n    maxSize: big", "logging.rotation.maxSize"),
        ("idempotencyWindow", "rootPath: /r\noperationsApi:\n  idempotencyWindow: forever", "operationsApi.idempotencyWindow"),
        ("default admin password", "rootPath: /r\nadmin:\n  username: admin\n  password: change-me", "admin.password"),
        ("invalid YAML", "rootPath: /r\n  bad: [unclosed", "(file)"),
        ("top level a list", "- a\n- b", "(file)"),
    ])
    func errorsNameTheKey(name: String, yaml: String, key: String) {
        expectConfigError(key: key, name) { try NodeConfig.parse(yaml: yaml) }
    }

    /// A well-known default password is accepted only with the development flag, and the
    /// environment's is checked like the file's.
    @Test func aDefaultAdminPasswordNeedsTheDevelopmentFlag() throws {
        let c = try NodeConfig.parse(yaml: "rootPath: /r\nadmin:\n  password: change-me\n  allowDefaultPassword: true")
        #expect(c.adminPassword == "change-me")
        expectConfigError(key: "admin.password") { try NodeConfig.parse(yaml: "rootPath: /r", environment: ["HDB_ADMIN_PASSWORD": "Password"]) }
        #expect(try NodeConfig.parse(yaml: "rootPath: /r", environment: ["HDB_ADMIN_PASSWORD": "a-long-secret"]).adminPassword == "a-long-secret")
    }

    @Test func errorDescriptionMentionsKeyAndProblem() {
        do {
            _ = try NodeConfig.parse(yaml: "rootPath: /r\noperationsApi:\n  network:\n    port: 70000")
            Issue.record("expected an error")
        } catch let error as ConfigError {
            #expect(error.description.contains("operationsApi.network.port"))
            #expect(error.description.contains("70000"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func loadReadsFileAndNamesMissingFile() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/node.yaml"
            try "rootPath: \(dir)\nlogging:\n  level: warn\n".write(toFile: path, atomically: true, encoding: .utf8)
            let c = try NodeConfig.load(path: path, environment: [:])
            #expect(c.rootPath == dir)
            #expect(c.logLevel == "warn")
            expectConfigError(key: "--config") { try NodeConfig.load(path: dir + "/missing.yaml", environment: [:]) }
        }
    }

    // MARK: Quantities

    @Test(arguments: [
        ("30s", 30.0), ("15m", 900), ("12h", 43_200), ("3d", 259_200), ("1w", 604_800), ("45", 45),
        ("1.5h", 5400), (" 2m ", 120), ("3D", 259_200), ("0s", 0), ("0", 0), ("0.5", 0.5),
    ])
    func parseDuration(text: String, seconds: Double) {
        #expect(Quantities.parseDuration(text) == seconds, "\(text)")
    }

    @Test(arguments: ["", "s", "abc", "-5s", "-1", "3 parsecs", "5x", "1e999s", "nans", "h1"])
    func parseDurationRejects(text: String) {
        #expect(Quantities.parseDuration(text) == nil, "\(text)")
    }

    @Test
    func parseDurationMilliseconds() {
        #expect(Quantities.parseDuration("250ms") == 0.25)
        #expect(Quantities.parseDuration("1500ms") == 1.5)
    }

    @Test(arguments: [
        ("100K", UInt64(102_400)), ("10M", 10_485_760), ("1G", 1 << 30), ("2T", 2 << 40), ("512", 512),
        ("1KB", 1024), ("10mb", 10 << 20), ("1.5K", 1536), (" 4k ", 4096), ("0", 0), ("64G", 64 << 30),
    ])
    func parseSize(text: String, bytes: UInt64) {
        #expect(Quantities.parseSize(text) == bytes, "\(text)")
    }

    @Test(arguments: ["", "B", "-1", "-1K", "abc", "10Q", "1.5", "K", "1e999G"])
    func parseSizeRejects(text: String) {
        #expect(Quantities.parseSize(text) == nil, "\(text)")
    }

    @Test
    func parseSizeRejectsOverflow() {
        #expect(Quantities.parseSize("1e30G") == nil)
        #expect(Quantities.parseSize("99999999999T") == nil)
    }
}

func expectConfigError(key: String, _ comment: String? = nil, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Any) {
    do {
        let value = try body()
        Issue.record("expected a ConfigError for \(key), got \(value) \(comment ?? "")", sourceLocation: sourceLocation)
    } catch let error as ConfigError {
        #expect(error.key == key, "\(error) \(comment ?? "")", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected a ConfigError for \(key), got \(error)", sourceLocation: sourceLocation)
    }
}

@Suite("Node configuration: replication keys")
struct ReplicationConfigTests {
    static func parse(_ replication: String, extra: String = "", environment: [String: String] = [:]) throws -> NodeConfig {
        try NodeConfig.parse(yaml: "rootPath: /srv/n\nreplication:\n  hostname: node-a\n" + replication + extra, environment: environment)
    }

    @Test func defaults() throws {
        let c = try Self.parse("", extra: "operationsApi:\n  network:\n    host: 127.0.0.3\n")
        #expect(c.routes.isEmpty)
        #expect(c.replicationHost == "127.0.0.3")
        #expect(c.replicateAllDatabases && c.replicationDatabases.isEmpty, "every database by default")
        #expect(c.tlsCertificate == nil && c.tlsPrivateKey == nil && c.tlsCertificateAuthority == nil)
        #expect(c.replicatorEndpoint == "ipc:///srv/n/run/replicator.sock")
        // system (users, roles, hdb_nodes) is always replicated, first.
        #expect(c.replicatedDatabases(local: ["dev", "data", "system"]) == ["system", "data", "dev"])
        #expect(try Self.parse("  databases: \"*\"\n").replicateAllDatabases)
        #expect(!(try Self.parse("  databases: [data]\n").replicateAllDatabases))
        #expect(c.replicationRegion == nil && c.replicatorEndpoints == nil && c.revokedSerials.isEmpty)
        // Outgoing connections leave from the node's own address when it has one.
        #expect(c.replicationSourceAddress == "127.0.0.3")
        #expect(try Self.parse("", extra: "operationsApi:\n  network:\n    host: 0.0.0.0\n").replicationSourceAddress == nil)
        #expect(try Self.parse("", extra: "operationsApi:\n  network:\n    host: node-a.local\n").replicationSourceAddress == nil)
    }

    @Test func regionsRevocationAndSourceAddress() throws {
        let c = try Self.parse("""
              sourceAddress: 10.0.0.7
              region: us
              databases: [system, data]
              routes:
                - {hostname: node-b, region: us}
                - {hostname: node-c, region: eu}
            tls:
              revokedSerials: ["0A:1B:00", "ff"]

            """)
        #expect(c.replicationSourceAddress == "10.0.0.7")
        #expect(c.replicationRegion == "us")
        #expect(c.ownedRoutes.map(\.hostname) == ["node-b"])
        #expect(c.replicatorEndpoint == "ipc:///srv/n/run/replicator-us.sock")
        #expect(c.logName(service: "replicator") == "replicator-us" && c.logName(service: "store") == "store")
        #expect(c.revokedSerials == ["a1b00", "ff"])
        #expect(c.replicatedDatabases(local: ["other"]) == ["system", "data"], "a list is not widened by local databases")
        let env = try Self.parse("  routes: [{hostname: node-b, region: eu}]\n", environment: [
            "SKEIN_REPLICATION_REGION": "eu", "SKEIN_TLS_REVOKEDSERIALS": "01,02", "SKEIN_SERVICES_REPLICATORS": "ipc:///r/a.sock,ipc:///r/b.sock",
        ])
        #expect(env.replicationRegion == "eu" && env.revokedSerials == ["1", "2"])
        #expect(env.replicatorEndpoints == ["ipc:///r/a.sock", "ipc:///r/b.sock"])
        #expect(NodeConfig.normalizedSerial("00") == "0")
    }

    @Test func routesAsStringsAndMappings() throws {
        let c = try Self.parse("""
              host: 127.0.0.1
              databases: [data, dev]
              routes:
                - node-b
                - node-c:9944
                - wss://node-d:9955
                - hostname: node-e
                  host: 127.0.0.5
                  port: "9966"
                  startTime: "2026-01-31T12:00:00Z"
                  region: eu
                - {hostname: node-f}
            tls:
              certificate: /c/node.pem
              privateKey: /c/node.key
              certificateAuthority: /c/ca.pem
            services:
              replicator: tcp://127.0.0.1:7001
            \(CurveConfigTests.keysYAML)
            """)
        #expect(c.replicationHost == "127.0.0.1")
        #expect(c.replicationDatabases == ["data", "dev"])
        #expect(c.routes == [
            ReplicationRoute(hostname: "node-b", port: 9933),
            ReplicationRoute(hostname: "node-c", port: 9944),
            ReplicationRoute(hostname: "node-d", port: 9955),
            ReplicationRoute(hostname: "node-e", host: "127.0.0.5", port: 9966, startTime: "2026-01-31T12:00:00Z", region: "eu"),
            ReplicationRoute(hostname: "node-f"),
        ])
        #expect(c.routes[3].url == "wss://127.0.0.5:9966")
        #expect(c.routes[0].url == "wss://node-b:9933")
        #expect(c.tlsCertificate == "/c/node.pem" && c.tlsPrivateKey == "/c/node.key" && c.tlsCertificateAuthority == "/c/ca.pem")
        #expect(c.replicatorEndpoint == "tcp://127.0.0.1:7001")
    }

    @Test func environmentOverrides() throws {
        let c = try Self.parse("", environment: [
            "SKEIN_REPLICATION_ROUTES": "node-b:9001, node-c", "SKEIN_REPLICATION_DATABASES": "data,dev", "SKEIN_REPLICATION_HOST": "0.0.0.0",
        ])
        #expect(c.routes == [ReplicationRoute(hostname: "node-b", port: 9001), ReplicationRoute(hostname: "node-c")])
        #expect(c.replicationDatabases == ["data", "dev"])
        #expect(c.replicationHost == "0.0.0.0")
    }

    @Test(arguments: [
        ("  routes: node-b\n  securePort: 0\n", "replication.securePort"),
        ("  routes: 5\n", "replication.routes"),
        ("  routes: [node-b:0]\n", "replication.routes[0]"),
        ("  routes: [node-b:x]\n", "replication.routes[0]"),
        ("  routes: [\"node b\"]\n", "replication.routes[0]"),
        ("  routes: [[1]]\n", "replication.routes[0]"),
        ("  routes: [node-b, node-b:9934]\n", "replication.routes[1]"),
        ("  routes: [node-a]\n", "replication.routes[0]"),
        ("  routes: [{port: 9933}]\n", "replication.routes[0].hostname"),
        ("  routes: [{hostname: node-b, port: 70000}]\n", "replication.routes[0].port"),
        ("  routes: [{hostname: node-b, port: nine}]\n", "replication.routes[0].port"),
        ("  routes: [{hostname: node-b, host: \"\"}]\n", "replication.routes[0].host"),
        ("  routes: [{hostname: node-b, startTime: yesterday}]\n", "replication.routes[0].startTime"),
        ("  routes: [{hostname: node-b, hostName: x}]\n", "replication.routes[0].hostName"),
        ("  routes: [{hostname: [x]}]\n", "replication.routes[0].hostname"),
        ("  databases: 7\n", "replication.databases"),
        ("  databases: [data, 3]\n", "replication.databases[1]"),
        ("  sourceAddress: node-a\n", "replication.sourceAddress"),
        ("  region: \"u s\"\n", "replication.region"),
        ("  region: eu\n  routes: [{hostname: node-b, region: us}]\n", "replication.region"),
        ("  databases: [data, data]\n", "replication.databases[1]"),
        ("  host: [x]\n", "replication.host"),
    ])
    func invalid(yaml: String, key: String) {
        expectConfigError(key: key, yaml) { try Self.parse(yaml) }
    }

    @Test func invalidEndpointAndTLS() {
        expectConfigError(key: "services.replicator") { try Self.parse("", extra: "services:\n  replicator: http://x\n") }
        expectConfigError(key: "tls.certificate") { try Self.parse("", extra: "tls:\n  certificate: [a, b]\n") }
    }
}
