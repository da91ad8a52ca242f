import Foundation
import SkeinCore

/// Which peers a replicator subscribes to and which may subscribe to it: its routes
/// (`replication.routes`) plus the nodes learned from the replicated `hdb_nodes` table, so a
/// node that reaches one peer learns the rest of the cluster and connects to each directly
/// (a full mesh; each subscription asks only for the peer's own entries, so nothing loops).
/// Pure: the replicator feeds it the table's records.
public enum PeerPlan {
    /// The route to a learned node: its record's `name` and `url` (`wss://host:port`), and
    /// `start_time` (ISO 8601) when `add_node` gave one. Nil for a record without a usable url.
    public static func route(fromRecord record: JSON) -> ReplicationRoute? {
        guard let name = record["name"]?.stringValue, !name.isEmpty,
              let url = record["url"]?.stringValue, let parsed = URLComponents(string: url),
              parsed.scheme == "wss" || parsed.scheme == "ws", let host = parsed.host, !host.isEmpty
        else { return nil }
        let startTime = record["start_time"]?.stringValue.flatMap { ISO8601DateFormatter().date(from: $0) != nil ? $0 : nil }
        return ReplicationRoute(hostname: name, host: host, port: parsed.port ?? ReplicationRoute.defaultPort, startTime: startTime)
    }

    /// The peers this replicator subscribes to: the routes it owns (all, or those of its
    /// region) and, for the replicator without a region, every learned node that is not
    /// this node and not already a route. Routes come first, learned nodes by name.
    public static func peers(routes: [ReplicationRoute], records: [JSON], ownName: String, region: String?) -> [ReplicationRoute] {
        guard region == nil else { return routes.filter { $0.region == region } }
        let routed = Set(routes.map(\.hostname))
        let learned = records.compactMap(route(fromRecord:))
            .filter { $0.hostname != ownName && !routed.contains($0.hostname) }
            .sorted { $0.hostname < $1.hostname }
        var seen = Set<String>()
        return routes + learned.filter { seen.insert($0.hostname).inserted }
    }

    /// Names that may subscribe to this node: every route (of any region: the inbound port
    /// is shared by all of a node's replicators) and every node in `hdb_nodes`.
    public static func allowedNames(routes: [ReplicationRoute], records: [JSON]) -> Set<String> {
        Set(routes.map(\.hostname)).union(records.compactMap { $0["name"]?.stringValue })
    }

    /// This node's own `hdb_nodes` record, which it (re)writes whenever the table says
    /// something else about it (a route placeholder written by a peer, an older url).
    public static func ownRecord(name: String, url: String, databases: [String], certificateAuthority: String?) -> JSON {
        var record: [String: JSON] = [
            "name": .string(name), "url": .string(url), "replicates": true,
            "subscriptions": .array(databases.map { ["database": .string($0), "subscribe": true, "publish": true] }),
        ]
        if let certificateAuthority { record["ca"] = .string(certificateAuthority) }
        return .object(record)
    }

    /// The placeholder a route puts in `hdb_nodes` when the table has no record of that
    /// peer yet (the peer replaces it with its own record).
    public static func routeRecord(_ route: ReplicationRoute) -> JSON {
        ["name": .string(route.hostname), "url": .string(route.url)]
    }
}
