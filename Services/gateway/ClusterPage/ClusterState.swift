import Foundation
import SkeinCore
import SkeinService

/// The JSON behind the cluster page (`GET /cluster/state`): the answers of the operations
/// `cluster_status`, `cluster_get_routes`, `describe_all` and a search of `system.hdb_nodes`,
/// each run for the caller through `OperationsHandler.handle` (the checks and code of
/// `POST /`), arranged per node. Nothing is made up: what an answer lacks stays null, and an
/// operation that failed is named in `errors` (docs/INTERFACES.md §5 "The cluster page").
struct ClusterState: Sendable {
    let handler: OperationsHandler

    /// One operation's answer: its result, or null and why.
    struct Answer: Sendable {
        var json: JSON = .null
        var error: String?
    }

    static let membersSearch: JSON = ["operation": "search_by_value", "database": "system", "table": "hdb_nodes",
                                      "search_attribute": "name", "search_value": "*", "get_attributes": ["*"]]

    /// Where peers' record counts come from, and why one can be missing.
    static let peerCountsSource = "each peer's own counts, sent every few seconds on this node's subscription to it (record_counts frames); "
        + "a peer this node does not subscribe to, or one of an older version, has none"

    func assemble(for user: AuthenticatedUser) async -> JSON {
        async let status = run(["operation": "cluster_status"], user)
        async let routes = run(["operation": "cluster_get_routes"], user)
        async let members = run(Self.membersSearch, user)
        async let described = run(["operation": "describe_all"], user)
        let answers = await ["cluster_status": status, "cluster_get_routes": routes, "hdb_nodes": members, "describe_all": described]
        let cluster = answers["cluster_status"]!.json
        let name = handler.config.nodeName
        return [
            "node_name": .string(name),
            "generated_at": .string(LogSink.timestamp(Date())),
            "is_enabled": cluster["is_enabled"] ?? .null,
            "url": cluster["url"] ?? .null,
            "refused_connections": cluster["refused_connections"] ?? .null,
            "replicators": cluster["replicators"] ?? .null,
            "nodes": .array(Self.nodes(this: name, status: cluster, routes: answers["cluster_get_routes"]!.json,
                                       members: answers["hdb_nodes"]!.json)),
            "record_counts": ["node": .string(name), "databases": Self.counts(answers["describe_all"]!.json)],
            "peer_record_counts": Self.peerCounts(cluster),
            "notes": ["peer_record_counts": .string(Self.peerCountsSource)],
            "errors": .object(answers.compactMapValues { $0.error.map(JSON.string) }),
        ]
    }

    /// `body` as `POST /` answers it for `user`.
    func run(_ body: JSON, _ user: AuthenticatedUser) async -> Answer {
        let outcome = await handler.handle(body: body.serialized(), user: user)
        let json = (try? JSON.parse(outcome.body)) ?? .null
        guard outcome.status == 200 else { return Answer(error: json["error"]?.stringValue ?? "status \(outcome.status)") }
        return Answer(json: json)
    }

    /// Every node any source names, this node first, then in the order cluster_status,
    /// hdb_nodes and the routes name them; each with where it was found and its connection.
    static func nodes(this: String, status: JSON, routes: JSON, members: JSON) -> [JSON] {
        let connections = status["connections"]?.arrayValue ?? []
        let records = members.arrayValue ?? []
        let routed = routes.arrayValue ?? []
        var order = [this]
        for name in connections.compactMap({ $0["name"]?.stringValue }) + records.compactMap({ $0["name"]?.stringValue })
            + routed.compactMap({ $0["hostname"]?.stringValue }) where !order.contains(name) {
            order.append(name)
        }
        return order.map { name in
            let connection = connections.first { $0["name"]?.stringValue == name }
            let record = records.first { $0["name"]?.stringValue == name }
            let route = routed.first { $0["hostname"]?.stringValue == name }
            let url = name == this ? status["url"] : record?["url"] ?? connection?["url"]?.nonNull
            return [
                "name": .string(name), "self": .bool(name == this), "url": url ?? .null,
                "in_hdb_nodes": .bool(record != nil), "in_routes": .bool(route != nil),
                "connection": connection ?? .null,
            ]
        }
    }

    /// `describe_all` per database: each table's `record_count` and their sum (null when a
    /// table's count is missing); null when describe_all failed.
    static func counts(_ described: JSON) -> JSON {
        guard let databases = described.objectValue else { return .null }
        return .object(databases.mapValues { tables in database((tables.objectValue ?? [:]).mapValues { $0["record_count"] ?? .null }) })
    }

    /// Each peer's record counts as it reported them on this node's subscriptions to it
    /// (`peer_record_counts` of the cluster_status sockets), shaped like `record_counts`
    /// with `as_of` (when they arrived) per database: `{NODE: {databases: {DB: ...}}}`,
    /// peers without counts left out, `system` too (as describe_all does); null when
    /// cluster_status failed.
    static func peerCounts(_ status: JSON) -> JSON {
        guard let connections = status["connections"]?.arrayValue else { return .null }
        var peers: [String: JSON] = [:]
        for connection in connections {
            guard let name = connection["name"]?.stringValue else { continue }
            var databases: [String: JSON] = [:]
            for socket in connection["database_sockets"]?.arrayValue ?? [] {
                guard let db = socket["database"]?.stringValue, db != "system", let tables = socket["peer_record_counts"]?.objectValue else { continue }
                databases[db] = database(tables).adding("as_of", socket["peer_record_counts_at"] ?? .null)
            }
            if !databases.isEmpty { peers[name] = ["databases": .object(databases)] }
        }
        return .object(peers)
    }

    /// One database's counts: per table and their sum (null when a table's count is missing).
    static func database(_ tables: [String: JSON]) -> JSON {
        let known = tables.values.compactMap(\.intValue)
        return ["records": known.count == tables.count ? JSON(known.reduce(0, +)) : .null, "tables": .object(tables)]
    }
}
