import Foundation
import Yams

/// A configuration problem, always naming the key so the operator knows what to fix.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public let key: String
    public let problem: String
    public var description: String { "invalid configuration: \(key): \(problem)" }

    public init(key: String, problem: String) {
        self.key = key
        self.problem = problem
    }
}

/// One node's configuration: the YAML file with environment overrides applied
/// (`SKEIN_` + key path upper-cased, `.` → `_`). Keys are documented in docs/INTERFACES.md.
public struct NodeConfig: Sendable {
    public var rootPath: String
    public var nodeName: String
    public var httpHost: String
    public var httpPort: Int
    public var maxBodySize: UInt64
    public var logLevel: String
    public var logDir: String
    /// Log files rotate at this size (`logging.rotation.maxSize`, default 100M; nil when
    /// `logging.rotation.enabled` is false), keeping `logRetain` older files
    /// (`logging.rotation.retain`, default 10): `SERVICE.log.1` is the newest of them.
    public var logRotateBytes: UInt64?
    public var logRetain: Int
    public var auditLog: Bool
    public var auditRetentionSeconds: Double
    public var auditMaxSize: UInt64
    public var mapSize: UInt64
    /// Records of one database that may wait for an index catch-up before its record
    /// writes wait for the indexes (`storage.indexBacklogLimit`, default 131072; 0: no
    /// limit). See `IndexBacklogGate`.
    public var indexBacklogLimit: Int?
    public var runDir: String
    public var storeEndpoint: String
    public var storeNoticesEndpoint: String
    /// The store's commit feed (`services.storeFeed`, PUB): each commit's audit entries, for
    /// caught-up replication publishers. Defaults to a socket next to the notices' when they
    /// are on `ipc://`; nil (no feed: publishers read every entry through auditd) when the
    /// notices are on `tcp://` and no feed endpoint is set, or it is set to `"off"`.
    public var storeFeedEndpoint: String?
    public var auditdEndpoint: String
    /// The node's CURVE keypair (`services.curve.*`): required when a service endpoint is
    /// `tcp://`, whose sockets then authenticate and encrypt with it; nil when not configured.
    public var curveKeys: CurveKeys?
    public var timeoutMillis: Int
    public var adminUsername: String?
    public var adminPassword: String?
    /// Replication (the replicator; docs/INTERFACES.md §2 and §8).
    public var replicationURL: String?
    public var replicationPort: Int
    /// Address the replicator listens on (`replication.host`, default the gateway's host).
    public var replicationHost: String
    public var routes: [ReplicationRoute]
    /// Databases replicated with every peer (`replication.databases`): a list, or every
    /// database of the node (`*`, the default: `replicateAllDatabases`, and this is empty).
    public var replicationDatabases: [String]
    public var replicateAllDatabases: Bool
    /// PEM files: this node's certificate (chain), its private key, the CA(s) peers must chain to.
    public var tlsCertificate: String?
    public var tlsPrivateKey: String?
    public var tlsCertificateAuthority: String?
    public var replicatorEndpoint: String
    /// This replicator's region (`replication.region`): it owns only the routes labelled
    /// with it. Nil: it owns every route and the nodes learned from `hdb_nodes`.
    public var replicationRegion: String?
    /// The address outgoing replication connections leave from (`replication.sourceAddress`,
    /// default `replication.host` when that is one IP address), so a firewall rule between
    /// two node addresses is a real partition.
    public var replicationSourceAddress: String?
    /// Serial numbers (lowercase hex) of certificates refused although their chain is valid
    /// (`tls.revokedSerials`).
    public var revokedSerials: Set<String>
    /// Every replicator request endpoint of this node, for the gateway's `cluster_status`
    /// (`services.replicators`; default: every `replicator*.sock` in `services.runDir`).
    public var replicatorEndpoints: [String]?
    /// How far ahead of this node's clock a peer's write may be (`replication.maxClockSkew`,
    /// default 60 s). A link meeting a write further ahead pauses (nothing applied, the clock
    /// not advanced) until local time has caught up.
    public var maxClockSkewMillis: UInt64
    /// How long the store keeps the result of a write sent with an `Idempotency-Key`
    /// (`operationsApi.idempotencyWindow`, default 1h): a retry within it gets that result.
    public var idempotencyWindowMillis: UInt64
    /// Lifetimes of authentication tokens in seconds (Harper's keys
    /// `authentication.operationTokenTimeout`, default 1d, and
    /// `authentication.refreshTokenTimeout`, default 30d).
    public var operationTokenSeconds: Double
    public var refreshTokenSeconds: Double
    /// Open connections the gateway accepts (`operationsApi.network.maxConnections`, default
    /// 1000); the one over gets 503 and is closed.
    public var maxConnections: Int
    /// HTTPS port of the operations API (`operationsApi.network.securePort`, Harper's key;
    /// off when unset), served with `tls.certificate` and `tls.privateKey`.
    public var secureHTTPPort: Int?
    /// A request's headers must arrive within this (`operationsApi.network.headersTimeout`, ms,
    /// default 10 s), its body within `operationsApi.network.timeout` (ms, default 120 s) of
    /// them, and a keep-alive connection may idle `operationsApi.network.keepAliveTimeout`
    /// (ms, default 30 s) between requests; then the connection is closed.
    public var headersTimeoutMillis: Int
    /// `GET /metrics` asks for a super user's Basic credentials (`operationsApi.metrics.requireAuth`,
    /// default true; false for a scraper on a private network).
    public var metricsRequireAuth: Bool
    /// Attributes one table may have (`storage.maxAttributesPerTable`, default 500): a write
    /// that would add more is refused with 400 (each indexed attribute is an LMDB database).
    public var maxAttributesPerTable: Int
    public var requestTimeoutMillis: Int
    public var keepAliveTimeoutMillis: Int
    /// Fault injection for tests (`testing.clockOffsetMs`, default 0): this node's wall clock
    /// runs this many milliseconds ahead (or behind, when negative) of the machine's.
    public var clockOffsetMillis: Int64
    /// Harper's REST interface (`http.host`, default the operations API's host; `http.port`,
    /// default 9926): tables as resources, the same users and roles.
    public var restHost: String
    public var restPort: Int
    /// The REST interface over HTTPS (`http.securePort`, Harper's key; off by default), with
    /// the node's `tls.*` certificate.
    public var secureRESTPort: Int?
    /// The tables REST serves (`rest.exportTables`: `database.table` or `table` names, or `*`).
    public var restExports: RESTExports

    /// This node's wall clock in milliseconds since the epoch (the machine's, shifted by
    /// `testing.clockOffsetMs`). Every version and skew check reads time through it.
    public var wallClock: WallClock { WallClock(offsetMillis: clockOffsetMillis) }

    /// The databases a replicator replicates, given the node's databases (`local`, used with
    /// `*`): `system` (users, roles, `hdb_nodes`) first, then `replication.databases` or
    /// every local database.
    public func replicatedDatabases(local: [String] = []) -> [String] {
        let chosen = replicateAllDatabases ? local.sorted() : replicationDatabases
        var seen: Set<String> = ["system"]
        return ["system"] + chosen.filter { seen.insert($0).inserted }
    }

    /// The routes this replicator owns (all of them, or those of its region).
    public var ownedRoutes: [ReplicationRoute] {
        guard let replicationRegion else { return routes }
        return routes.filter { $0.region == replicationRegion }
    }

    /// The log file name of this process: `replicator-REGION` for a region's replicator.
    public func logName(service: String) -> String {
        if service == "replicator", let replicationRegion { return "replicator-\(replicationRegion)" }
        return service
    }

    public var dataDir: String { rootPath + "/database" }

    /// Passwords refused for the admin unless `admin.allowDefaultPassword` is true.
    public static let defaultPasswords: Set<String> = ["change-me", "changeme", "password", "admin", "secret", "harper"]

    public static let logLevels = ["trace", "debug", "info", "notice", "warn", "error", "fatal"]

    /// Loads and validates a YAML file, applying `environment` overrides.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> NodeConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(key: "--config", problem: "cannot read file \(path)")
        }
        return try parse(yaml: String(decoding: data, as: UTF8.self), environment: environment)
    }

    public static func parse(yaml: String, environment: [String: String] = [:]) throws -> NodeConfig {
        let values = ConfigValues(tree: try ConfigValues.tree(yaml: yaml), environment: environment)
        return try NodeConfig(values: values, environment: environment)
    }

    init(values v: ConfigValues, environment: [String: String]) throws {
        guard let root = try v.string("rootPath"), !root.isEmpty else {
            throw ConfigError(key: "rootPath", problem: "is required")
        }
        rootPath = root
        nodeName = try v.string("replication.hostname") ?? "node"
        httpHost = try v.string("operationsApi.network.host") ?? "127.0.0.1"
        httpPort = try v.port("operationsApi.network.port") ?? 9925
        maxBodySize = try v.size("operationsApi.network.maxBodySize") ?? 10 << 20
        let level = (try v.string("logging.level") ?? "info").lowercased()
        guard Self.logLevels.contains(level) else {
            throw ConfigError(key: "logging.level", problem: "\"\(level)\" is not one of \(Self.logLevels.joined(separator: ", "))")
        }
        logLevel = level
        let rotate = try v.bool("logging.rotation.enabled") ?? true
        logRotateBytes = rotate ? try v.size("logging.rotation.maxSize") ?? 100 << 20 : nil
        logRetain = try v.positive("logging.rotation.retain") ?? 10
        logDir = try v.string("logging.root") ?? root + "/log"
        auditLog = try v.bool("logging.auditLog") ?? true
        auditRetentionSeconds = try v.duration("logging.auditRetention") ?? 3 * 86400
        auditMaxSize = try v.size("logging.maxSize") ?? 1 << 30
        mapSize = try v.size("storage.mapSize") ?? 64 << 30
        maxAttributesPerTable = try v.positive("storage.maxAttributesPerTable") ?? 500
        let backlogLimit = try v.int("storage.indexBacklogLimit") ?? 131_072
        guard backlogLimit >= 0 else { throw ConfigError(key: "storage.indexBacklogLimit", problem: "must be 0 (no limit) or more") }
        indexBacklogLimit = backlogLimit == 0 ? nil : backlogLimit
        runDir = try v.string("services.runDir") ?? root + "/run"
        storeEndpoint = try v.string("services.store") ?? "ipc://\(runDir)/store.sock"
        storeNoticesEndpoint = try v.string("services.storeNotices") ?? "ipc://\(runDir)/store-notices.sock"
        auditdEndpoint = try v.string("services.auditd") ?? "ipc://\(runDir)/auditd.sock"
        let feed = try v.string("services.storeFeed")
        storeFeedEndpoint = feed == "off" ? nil : feed ?? (storeNoticesEndpoint.hasPrefix("ipc://") ? "ipc://\(runDir)/store-feed.sock" : nil)
        let region = try v.string("replication.region").flatMap { $0.isEmpty ? nil : $0 }
        if let region { try ReplicationRoute.checkName(region, key: "replication.region", what: region) }
        replicationRegion = region
        replicatorEndpoint = try v.string("services.replicator") ?? "ipc://\(runDir)/\(region.map { "replicator-\($0)" } ?? "replicator").sock"
        replicatorEndpoints = try v.stringList("services.replicators")
        let endpoints = [("services.store", storeEndpoint), ("services.storeNotices", storeNoticesEndpoint), ("services.auditd", auditdEndpoint),
                         ("services.replicator", replicatorEndpoint)]
            + (replicatorEndpoints ?? []).enumerated().map { ("services.replicators[\($0)]", $1) }
            + (storeFeedEndpoint.map { [("services.storeFeed", $0)] } ?? [])
        for (key, endpoint) in endpoints {
            guard endpoint.hasPrefix("ipc://") || endpoint.hasPrefix("tcp://") else {
                throw ConfigError(key: key, problem: "\"\(endpoint)\" must start with ipc:// or tcp://")
            }
            if endpoint.hasPrefix("ipc://"), endpoint.utf8.count - 6 > 107 {
                throw ConfigError(key: key, problem: "ipc path longer than 107 bytes; set services.runDir to a shorter directory")
            }
        }
        curveKeys = try CurveKeys.configured(v)
        try CurveKeys.requireKeys(curveKeys, forEndpoints: endpoints)
        let timeout = try v.int("services.timeoutMs") ?? 10_000
        guard timeout > 0 else { throw ConfigError(key: "services.timeoutMs", problem: "must be positive") }
        timeoutMillis = timeout
        adminUsername = try v.string("admin.username") ?? environment["HDB_ADMIN_USERNAME"]
        adminPassword = try v.string("admin.password") ?? environment["HDB_ADMIN_PASSWORD"]
        // A well-known default would be every new node's super user password (review F16).
        if let password = adminPassword, Self.defaultPasswords.contains(password.lowercased()),
           try v.bool("admin.allowDefaultPassword") != true {
            throw ConfigError(key: "admin.password", problem: "\"\(password)\" is a well-known default: choose another (HDB_ADMIN_PASSWORD, SKEIN_ADMIN_PASSWORD for docker-compose), or set admin.allowDefaultPassword: true for a throwaway development cluster")
        }
        replicationURL = try v.string("replication.url")
        replicationPort = try v.port("replication.securePort") ?? ReplicationRoute.defaultPort
        replicationHost = try v.string("replication.host") ?? httpHost
        routes = try v.routes("replication.routes", ownName: nodeName)
        let listed = try v.databases("replication.databases")
        replicationDatabases = listed ?? []
        replicateAllDatabases = listed == nil
        tlsCertificate = try v.string("tls.certificate")
        tlsPrivateKey = try v.string("tls.privateKey")
        tlsCertificateAuthority = try v.string("tls.certificateAuthority")
        revokedSerials = Set(try v.stringList("tls.revokedSerials")?.map(Self.normalizedSerial) ?? [])
        maxClockSkewMillis = UInt64((try v.duration("replication.maxClockSkew") ?? 60) * 1000)
        clockOffsetMillis = Int64(try v.int("testing.clockOffsetMs") ?? 0)
        idempotencyWindowMillis = UInt64((try v.duration("operationsApi.idempotencyWindow") ?? 3600) * 1000)
        operationTokenSeconds = try v.duration("authentication.operationTokenTimeout") ?? 86_400
        refreshTokenSeconds = try v.duration("authentication.refreshTokenTimeout") ?? 30 * 86_400
        for (key, value) in [("authentication.operationTokenTimeout", operationTokenSeconds), ("authentication.refreshTokenTimeout", refreshTokenSeconds)] {
            guard value > 0 else { throw ConfigError(key: key, problem: "must be longer than 0 s") }
        }
        maxConnections = try v.positive("operationsApi.network.maxConnections") ?? 1000
        secureHTTPPort = try v.port("operationsApi.network.securePort")
        metricsRequireAuth = try v.bool("operationsApi.metrics.requireAuth") ?? true
        headersTimeoutMillis = try v.positive("operationsApi.network.headersTimeout") ?? 10_000
        requestTimeoutMillis = try v.positive("operationsApi.network.timeout") ?? 120_000
        keepAliveTimeoutMillis = try v.positive("operationsApi.network.keepAliveTimeout") ?? 30_000
        restHost = try v.string("http.host") ?? httpHost
        restPort = try v.port("http.port") ?? 9926
        secureRESTPort = try v.port("http.securePort")
        restExports = RESTExports(list: try v.stringList("rest.exportTables"))
        if restPort == httpPort || restPort == secureHTTPPort {
            throw ConfigError(key: "http.port", problem: "must differ from operationsApi.network.port and securePort")
        }
        if let secure = secureRESTPort {
            guard ![httpPort, restPort, secureHTTPPort].contains(secure) else {
                throw ConfigError(key: "http.securePort", problem: "must differ from http.port and the operations API's ports")
            }
            guard tlsCertificate != nil, tlsPrivateKey != nil else {
                throw ConfigError(key: "http.securePort", problem: "needs tls.certificate and tls.privateKey")
            }
        }
        let source = try v.string("replication.sourceAddress")
        if let source, !source.isEmpty {
            guard Self.isIPAddress(source) else { throw ConfigError(key: "replication.sourceAddress", problem: "\"\(source)\" is not an IP address") }
            replicationSourceAddress = source
        } else {
            let unspecified = ["0.0.0.0", "::", "*"].contains(replicationHost)
            replicationSourceAddress = !unspecified && Self.isIPAddress(replicationHost) ? replicationHost : nil
        }
        if secureHTTPPort != nil, tlsCertificate == nil || tlsPrivateKey == nil {
            throw ConfigError(key: "operationsApi.network.securePort", problem: "needs tls.certificate and tls.privateKey")
        }
        if let secure = secureHTTPPort, secure == httpPort {
            throw ConfigError(key: "operationsApi.network.securePort", problem: "must differ from operationsApi.network.port")
        }
        if let region = replicationRegion, !routes.isEmpty, !routes.contains(where: { $0.region == region }) {
            throw ConfigError(key: "replication.region", problem: "no route in replication.routes has region \"\(region)\"")
        }
    }

    /// A serial number as `openssl x509 -serial` or a colon-separated form gives it:
    /// lowercase hex without separators or leading zeros.
    public static func normalizedSerial(_ text: String) -> String {
        let hex = text.lowercased().filter { $0.isHexDigit }
        let trimmed = hex.drop { $0 == "0" }
        return trimmed.isEmpty ? "0" : String(trimmed)
    }

    static func isIPAddress(_ s: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, s, &v4) == 1 || inet_pton(AF_INET6, s, &v6) == 1
    }
}

/// Typed access to a configuration tree by dotted key, with environment overrides.
struct ConfigValues {
    let tree: [String: Any]
    let environment: [String: String]

    /// The mapping a YAML text holds (empty for an empty text).
    static func tree(yaml: String) throws -> [String: Any] {
        let loaded: Any?
        do {
            loaded = try Yams.load(yaml: yaml)
        } catch {
            throw ConfigError(key: "(file)", problem: "not valid YAML: \(error)")
        }
        guard let loaded else { return [:] }
        guard let dict = loaded as? [String: Any] else { throw ConfigError(key: "(file)", problem: "top level must be a mapping") }
        return dict
    }

    static func environmentName(_ key: String) -> String {
        "SKEIN_" + key.uppercased().replacingOccurrences(of: ".", with: "_")
    }

    /// The raw value: the environment override if set, else the YAML value.
    func raw(_ key: String) -> Any? {
        if let env = environment[Self.environmentName(key)] { return env }
        var node: Any? = tree
        for part in key.split(separator: ".") {
            guard let dict = node as? [String: Any] else { return nil }
            node = dict[String(part)]
        }
        if node is NSNull { return nil }
        return node
    }

    func string(_ key: String) throws -> String? {
        guard let value = raw(key) else { return nil }
        switch value {
        case let s as String: return s
        case let i as Int: return String(i)
        case let d as Double: return String(d)
        case let b as Bool: return String(b)
        default: throw ConfigError(key: key, problem: "expected a string, got \(type(of: value))")
        }
    }

    func int(_ key: String) throws -> Int? {
        guard let value = raw(key) else { return nil }
        if let i = value as? Int { return i }
        if let s = value as? String, let i = Int(s.trimmingCharacters(in: .whitespaces)) { return i }
        throw ConfigError(key: key, problem: "\"\(value)\" is not an integer")
    }

    func port(_ key: String) throws -> Int? {
        guard let p = try int(key) else { return nil }
        guard (1...65535).contains(p) else { throw ConfigError(key: key, problem: "\(p) is not a port (1-65535)") }
        return p
    }

    func bool(_ key: String) throws -> Bool? {
        guard let value = raw(key) else { return nil }
        if let b = value as? Bool { return b }
        if let s = value as? String {
            switch s.lowercased() {
            case "true", "yes", "1", "on": return true
            case "false", "no", "0", "off": return false
            default: break
            }
        }
        throw ConfigError(key: key, problem: "\"\(value)\" is not a boolean (true or false)")
    }

    /// A YAML list of strings, or (environment) a comma-separated string.
    func stringList(_ key: String) throws -> [String]? {
        guard let value = raw(key) else { return nil }
        if let s = value as? String { return s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
        if let i = value as? Int { return [String(i)] }
        guard let list = value as? [Any] else { throw ConfigError(key: key, problem: "expected a list") }
        return try list.enumerated().map { i, item in
            switch item {
            case let s as String: return s
            case let n as Int: return String(n)
            default: throw ConfigError(key: "\(key)[\(i)]", problem: "expected a string")
            }
        }
    }

    /// A whole number above 0.
    func positive(_ key: String) throws -> Int? {
        guard let n = try int(key) else { return nil }
        guard n > 0 else { throw ConfigError(key: key, problem: "must be positive") }
        return n
    }

    func duration(_ key: String) throws -> Double? {
        guard let s = try string(key) else { return nil }
        guard let d = Quantities.parseDuration(s) else {
            throw ConfigError(key: key, problem: "\"\(s)\" is not a duration (like 30s, 15m, 12h, 3d, 1w)")
        }
        return d
    }

    func size(_ key: String) throws -> UInt64? {
        guard let s = try string(key) else { return nil }
        guard let n = Quantities.parseSize(s), n > 0 else {
            throw ConfigError(key: key, problem: "\"\(s)\" is not a size (like 100K, 10M, 1G)")
        }
        return n
    }
}
