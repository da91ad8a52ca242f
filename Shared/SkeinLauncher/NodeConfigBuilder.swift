import SkeinCore

/// A node's `config.yaml`, built with typed setters for the keys a launcher or a test sets
/// (docs/INTERFACES.md §2) and `set` for any other; `validated()` reads the result back
/// with `NodeConfig`, the services' own loader, so a mistake shows before a process starts.
public struct NodeConfigBuilder: Sendable {
    /// Values by dotted key (`operationsApi.network.port`).
    public private(set) var values: [String: JSON]

    /// One replication route: a peer's name and where its replicator listens; from
    /// `startTime` on only (nothing older copied), and owned by the replicator of `region`
    /// when the node runs one per region.
    public struct Route: Sendable, Equatable {
        public let hostname: String
        public let host: String
        public let port: Int
        public var startTime: String?
        public var region: String?

        public init(hostname: String, host: String, port: Int, startTime: String? = nil, region: String? = nil) {
            self.hostname = hostname
            self.host = host
            self.port = port
            self.startTime = startTime
            self.region = region
        }

        /// The route as an entry of `replication.routes`.
        public var json: JSON {
            var fields: [String: JSON] = ["hostname": .string(hostname), "host": .string(host), "port": JSON(port)]
            if let startTime { fields["startTime"] = .string(startTime) }
            if let region { fields["region"] = .string(region) }
            return .object(fields)
        }
    }

    public init(rootPath: String) {
        values = ["rootPath": .string(rootPath)]
    }

    /// Any key, for what has no typed setter (nil removes it).
    public mutating func set(_ key: String, _ value: JSON?) {
        values[key] = value
    }

    /// The operations API's address and port (`operationsApi.network.*`).
    public mutating func operationsAPI(host: String, port: Int) {
        values["operationsApi.network.host"] = .string(host)
        values["operationsApi.network.port"] = JSON(port)
    }

    /// The REST interface's port (`http.port`; Harper's default 9926 when never set).
    public mutating func rest(port: Int) {
        values["http.port"] = JSON(port)
    }

    /// The super user made on the first start (`admin.*`).
    public mutating func admin(username: String, password: String) {
        values["admin.username"] = .string(username)
        values["admin.password"] = .string(password)
    }

    /// `logging.level` and `logging.auditRetention` (a duration such as `3d`).
    public mutating func logging(level: String, auditRetention: String? = nil) {
        values["logging.level"] = .string(level)
        if let auditRetention { values["logging.auditRetention"] = .string(auditRetention) }
    }

    /// The replicator: this node's name, where it listens (`host`, `port`), the URL peers
    /// are told, the databases (nil: every one, `"*"`) and the routes to its peers.
    public mutating func replication(hostname: String, host: String, port: Int, url: String? = nil,
                                     databases: [String]? = nil, routes: [Route]) {
        values["replication.hostname"] = .string(hostname)
        values["replication.host"] = .string(host)
        values["replication.securePort"] = JSON(port)
        values["replication.url"] = url.map(JSON.string)
        values["replication.databases"] = databases.map { JSON($0) } ?? "*"
        values["replication.routes"] = .array(routes.map(\.json))
    }

    /// `tls.*`: this node's certificate and key, and the CA its peers must chain to.
    public mutating func tls(certificate: String, privateKey: String, authority: String) {
        values["tls.certificate"] = .string(certificate)
        values["tls.privateKey"] = .string(privateKey)
        values["tls.certificateAuthority"] = .string(authority)
    }

    /// The YAML text; with `sections`, only those top-level sections.
    public func yaml(sections: Set<String>? = nil) -> String {
        guard let sections else { return YAMLDocument.render(values) }
        return YAMLDocument.render(values.filter { sections.contains(String($0.key.prefix { $0 != "." })) })
    }

    /// The configuration as the services will read it (no environment overrides).
    public func validated() throws -> NodeConfig {
        try NodeConfig.parse(yaml: yaml())
    }
}
