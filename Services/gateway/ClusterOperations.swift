import Foundation
import SkeinCore
import SkeinService

/// Harper's cluster operations on Skein's membership table, `system.hdb_nodes` (replicated:
/// every node learns a node added anywhere and subscribes to it; docs/INTERFACES.md §8).
/// `replication.routes` in the YAML are the nodes a node starts from; these operations add
/// and remove nodes at run time without editing it.
struct ClusterOperations: Sendable {
    let config: NodeConfig
    let store: RPCClient

    static let operations: Set<String> = [
        "add_node", "update_node", "set_node", "remove_node",
        "cluster_set_routes", "cluster_get_routes", "cluster_delete_routes", "configure_cluster",
    ]

    func handle(_ op: String, _ req: OperationRequest) async throws -> JSON {
        switch op {
        case "add_node":
            let record = try Self.record(req.body)
            let name = record["name"]?.stringValue ?? ""
            let reply = try await store.call(op: "node_upsert", body: ["record": record, "only_if_missing": true])
            guard reply["written"]?.boolValue == true else {
                throw SkeinError.conflict("node '\(name)' is already in the cluster (update_node changes it)")
            }
            return ["message": .string("Successfully added '\(record["url"]?.stringValue ?? name)' to cluster")]
        case "update_node", "set_node":
            let record = try Self.record(req.body)
            _ = try await store.call(op: "node_upsert", body: ["record": record])
            return ["message": .string("Successfully updated '\(record["url"]?.stringValue ?? "")'")]
        case "remove_node":
            let name = try Self.name(req.body)
            _ = try await store.call(op: "node_remove", body: ["name": .string(name)])
            return ["message": .string("Successfully removed '\(name)' from cluster")]
        case "cluster_get_routes":
            return .array(config.routes.map { route in
                var r: [String: JSON] = ["hostname": .string(route.hostname), "host": .string(route.host), "port": JSON(route.port)]
                if let startTime = route.startTime { r["startTime"] = .string(startTime) }
                if let region = route.region { r["region"] = .string(region) }
                return .object(r)
            })
        case "cluster_set_routes":
            var set: [JSON] = [], skipped: [JSON] = []
            let routes = try Self.routes(req)
            let records = try routes.map(Self.record)  // every route valid before any write
            for (route, record) in zip(routes, records) {
                let reply = try await store.call(op: "node_upsert", body: ["record": record])
                if reply["written"]?.boolValue == true { set.append(route) } else { skipped.append(route) }
            }
            return ["message": "cluster routes successfully set", "set": .array(set), "skipped": .array(skipped)]
        case "cluster_delete_routes":
            var deleted: [JSON] = [], skipped: [JSON] = []
            let routes = try Self.routes(req)
            let names = try routes.map(Self.name)  // every route valid before any delete
            for (route, name) in zip(routes, names) {
                // (A `catch where` after this typed-throws call crashes Swift 6.3.1's compiler.)
                do {
                    _ = try await store.call(op: "node_remove", body: ["name": .string(name)])
                    deleted.append(route)
                } catch {
                    guard error.status == 404 else { throw error }
                    skipped.append(route)
                }
            }
            return ["message": "cluster routes successfully deleted", "deleted": .array(deleted), "skipped": .array(skipped)]
        case "configure_cluster":
            guard let connections = req.body["connections"]?.arrayValue else { throw SkeinError.badRequest("'connections' must be a list of add_node bodies") }
            let records = try connections.map { try Self.record($0.objectValue ?? [:]) }  // all valid before any write
            var results: [JSON] = []
            for record in records {
                _ = try await store.call(op: "node_upsert", body: ["record": record])
                results.append(["node_name": record["name"] ?? .null, "response": ["message": .string("Successfully set '\(record["url"]?.stringValue ?? "")'")]])
            }
            return ["message": "Configure cluster complete.", "connections": .array(results)]
        default:
            throw SkeinError.badRequest("Operation '\(op)' not found")
        }
    }

    static func routes(_ req: OperationRequest) throws -> [JSON] {
        guard let routes = req.body["routes"]?.arrayValue, !routes.isEmpty else {
            throw SkeinError.badRequest("'routes' must be a non-empty list of \"wss://host:port\" or {hostname, port}")
        }
        return try routes.map { r in
            if let s = r.stringValue { return try record(["url": .string(s.contains("://") ? s : "wss://\(s)")]) }
            guard let o = r.objectValue else { throw SkeinError.badRequest("each route must be \"wss://host:port\" or {hostname, port}") }
            return .object(o)
        }
    }

    /// The node a body names: `hostname` (or `name`), else the host of `url`.
    static func name(_ body: [String: JSON]) throws -> String {
        if let h = body["hostname"] ?? body["name"] {
            guard let s = h.stringValue, isNodeName(s) else {
                throw SkeinError.badRequest("'hostname' must be a node name (at most 253 bytes, no spaces, control characters, '/' or ':')")
            }
            return s
        }
        if let url = body["url"]?.stringValue, let host = URLComponents(string: url)?.host, !host.isEmpty {
            guard isNodeName(host) else { throw SkeinError.badRequest("'url' must be wss://host:port") }
            return host
        }
        throw SkeinError.badRequest("'hostname' or 'url' (wss://host:port) is required")
    }

    static func name(_ route: JSON) throws -> String { try name(route.objectValue ?? [:]) }

    /// A name a node can go by: not empty, at most 253 bytes (a DNS name), without whitespace,
    /// control characters, '/' or ':'. A URL's host is checked too: it arrives percent-decoded.
    static func isNodeName(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 253
            && !s.unicodeScalars.contains { $0.properties.isWhitespace || $0.properties.generalCategory == .control || $0 == "/" || $0 == ":" }
    }

    /// An `hdb_nodes` record from an add_node body: name, url (`wss://host:port`, default
    /// port 9933), and the optional start_time and subscriptions.
    static func record(_ body: [String: JSON]) throws -> JSON {
        let name = try name(body)
        var url = "wss://\(name):\(ReplicationRoute.defaultPort)"
        if let given = body["url"] {
            guard let s = given.stringValue, let c = URLComponents(string: s), c.scheme == "wss", let host = c.host, isNodeName(host) else {
                throw SkeinError.badRequest("'url' must be wss://host:port")
            }
            url = "wss://\(host):\(c.port ?? ReplicationRoute.defaultPort)"
        } else if let port = body["port"] {
            guard let p = port.intValue, (1...65535).contains(p) else { throw SkeinError.badRequest("'port' must be a port (1-65535)") }
            url = "wss://\(name):\(p)"
        }
        var record: [String: JSON] = ["name": .string(name), "url": .string(url)]
        if let t = body["start_time"] ?? body["startTime"] {
            guard let s = t.stringValue, ISO8601DateFormatter().date(from: s) != nil else {
                throw SkeinError.badRequest("'start_time' must be an ISO 8601 time (like 2026-01-31T12:00:00Z)")
            }
            record["start_time"] = .string(s)
        }
        if let subscriptions = body["subscriptions"] {
            guard subscriptions.arrayValue != nil else { throw SkeinError.badRequest("'subscriptions' must be a list") }
            record["subscriptions"] = subscriptions
        }
        return .object(record)
    }

    static func record(_ route: JSON) throws -> JSON { try record(route.objectValue ?? [:]) }
}
