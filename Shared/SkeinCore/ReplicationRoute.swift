import Foundation

/// A peer this node connects to (`replication.routes`, docs/INTERFACES.md §2).
///
/// `hostname` is the peer's node name: what it states in `hello` and the name its
/// certificate must carry (CN or DNS SAN). `host` is the address to dial, the hostname
/// unless given (a route to `node-b` on `127.0.0.2` has both).
public struct ReplicationRoute: Sendable, Equatable {
    public var hostname: String
    public var host: String
    public var port: Int
    /// Subscribe from this point in time (ISO 8601): a first sync copies nothing older and
    /// streams only entries written since.
    public var startTime: String?

    /// `startTime` in milliseconds since the epoch.
    public var startTimeMillis: UInt64? {
        startTime.flatMap { ISO8601DateFormatter().date(from: $0) }.map { UInt64(max(0, $0.timeIntervalSince1970 * 1000)) }
    }
    public var region: String?

    public static let defaultPort = 9933

    public init(hostname: String, host: String? = nil, port: Int = defaultPort, startTime: String? = nil, region: String? = nil) {
        self.hostname = hostname
        self.host = host ?? hostname
        self.port = port
        self.startTime = startTime
        self.region = region
    }

    /// `wss://HOST:PORT`
    public var url: String { "wss://\(host):\(port)" }

    static let mappingKeys: Set<String> = ["hostname", "host", "port", "startTime", "region"]

    /// `"host"`, `"host:port"` or `"wss://host:port"`: the host is also the node name.
    static func parse(string text: String, key: String) throws -> ReplicationRoute {
        var s = text.trimmingCharacters(in: .whitespaces)
        for scheme in ["wss://", "ws://"] where s.hasPrefix(scheme) { s.removeFirst(scheme.count) }
        if s.hasSuffix("/") { s.removeLast() }
        var port = defaultPort
        if let colon = s.lastIndex(of: ":") {
            let digits = s[s.index(after: colon)...]
            guard let p = Int(digits), (1...65535).contains(p) else {
                throw ConfigError(key: key, problem: "\"\(text)\" has no valid port (expected host or host:port)")
            }
            port = p
            s = String(s[..<colon])
        }
        try checkName(s, key: key, what: text)
        return ReplicationRoute(hostname: s, port: port)
    }

    static func parse(mapping: [String: Any], key: String) throws -> ReplicationRoute {
        for k in mapping.keys where !mappingKeys.contains(k) {
            throw ConfigError(key: "\(key).\(k)", problem: "unknown key (a route has \(mappingKeys.sorted().joined(separator: ", ")))")
        }
        func string(_ k: String) throws -> String? {
            switch mapping[k] {
            case nil, is NSNull: return nil
            case let s as String: return s
            case let d as Date: return ISO8601DateFormatter().string(from: d)
            case let v: throw ConfigError(key: "\(key).\(k)", problem: "expected a string, got \(type(of: v!))")
            }
        }
        guard let hostname = try string("hostname") else { throw ConfigError(key: "\(key).hostname", problem: "is required (the peer's node name)") }
        try checkName(hostname, key: "\(key).hostname", what: hostname)
        let host = try string("host")
        if let host { try checkName(host, key: "\(key).host", what: host) }
        var port = defaultPort
        switch mapping["port"] {
        case nil, is NSNull: break
        case let p as Int: port = p
        case let s as String:
            guard let p = Int(s.trimmingCharacters(in: .whitespaces)) else { throw ConfigError(key: "\(key).port", problem: "\"\(s)\" is not an integer") }
            port = p
        case let v: throw ConfigError(key: "\(key).port", problem: "\"\(v!)\" is not an integer")
        }
        guard (1...65535).contains(port) else { throw ConfigError(key: "\(key).port", problem: "\(port) is not a port (1-65535)") }
        let startTime = try string("startTime")
        if let startTime, ISO8601DateFormatter().date(from: startTime) == nil {
            throw ConfigError(key: "\(key).startTime", problem: "\"\(startTime)\" is not an ISO 8601 time (like 2026-01-31T12:00:00Z)")
        }
        return ReplicationRoute(hostname: hostname, host: host, port: port, startTime: startTime, region: try string("region"))
    }

    static func checkName(_ name: String, key: String, what: String) throws {
        guard !name.isEmpty, !name.contains(where: { $0.isWhitespace || $0 == "/" || $0 == ":" || $0 == "@" }) else {
            throw ConfigError(key: key, problem: "\"\(what)\" is not a host name")
        }
    }
}

extension ConfigValues {
    /// `replication.routes`: a YAML list of strings or mappings, or (environment) a
    /// comma-separated string of `host[:port]`.
    func routes(_ key: String, ownName: String) throws -> [ReplicationRoute] {
        guard let value = raw(key) else { return [] }
        var routes: [ReplicationRoute] = []
        if let s = value as? String {
            for (i, part) in s.split(separator: ",").enumerated() {
                routes.append(try ReplicationRoute.parse(string: String(part), key: "\(key)[\(i)]"))
            }
        } else if let list = value as? [Any] {
            for (i, item) in list.enumerated() {
                let k = "\(key)[\(i)]"
                switch item {
                case let s as String: routes.append(try ReplicationRoute.parse(string: s, key: k))
                case let m as [String: Any]: routes.append(try ReplicationRoute.parse(mapping: m, key: k))
                default: throw ConfigError(key: k, problem: "expected \"host:port\" or a mapping {hostname, host, port, startTime, region}")
                }
            }
        } else {
            throw ConfigError(key: key, problem: "expected a list of routes")
        }
        var seen: Set<String> = []
        for (i, r) in routes.enumerated() {
            if r.hostname == ownName { throw ConfigError(key: "\(key)[\(i)]", problem: "\"\(r.hostname)\" is this node's own name (replication.hostname)") }
            guard seen.insert(r.hostname).inserted else { throw ConfigError(key: "\(key)[\(i)]", problem: "\"\(r.hostname)\" is listed twice") }
        }
        return routes
    }

    /// `replication.databases`: a list of names (or a comma-separated string); nil for `*`
    /// (every database). `system` is always replicated; listing it changes nothing.
    func databases(_ key: String) throws -> [String]? {
        guard let value = raw(key) else { return nil }
        if let s = value as? String, s.trimmingCharacters(in: .whitespaces) == "*" { return nil }
        if let list = value as? [Any], list.count == 1, (list[0] as? String) == "*" { return nil }
        let items: [Any]
        if let s = value as? String { items = s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        else if let list = value as? [Any] { items = list }
        else { throw ConfigError(key: key, problem: "expected a list of database names") }
        var names: [String] = []
        for (i, item) in items.enumerated() {
            guard let name = item as? String, !name.isEmpty, !name.contains("/") else {
                throw ConfigError(key: "\(key)[\(i)]", problem: "\"\(item)\" is not a database name")
            }
            if names.contains(name) { throw ConfigError(key: "\(key)[\(i)]", problem: "\"\(name)\" is listed twice") }
            names.append(name)
        }
        return names
    }
}
