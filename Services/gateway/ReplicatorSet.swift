import Foundation
import Logging
import SkeinCore
import SkeinService

/// Every replicator of this node (one per region when the node scales replication per
/// region), for `cluster_status`. The endpoints are `services.replicators` when set, else
/// every `replicator*.sock` in the run directory, else `services.replicator`; found again on
/// each call, so a replicator added later shows up.
final class ReplicatorSet: Sendable {
    let config: NodeConfig
    let logger: Logger
    private let clients = Locked<[String: RPCClient]>([:])

    init(config: NodeConfig, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    var endpoints: [String] {
        if let listed = config.replicatorEndpoints, !listed.isEmpty { return listed }
        let files = (try? FileManager.default.contentsOfDirectory(atPath: config.runDir)) ?? []
        let found = files.filter { $0.hasPrefix("replicator") && $0.hasSuffix(".sock") }.sorted().map { "ipc://\(config.runDir)/\($0)" }
        return found.isEmpty ? [config.replicatorEndpoint] : found
    }

    private func client(_ endpoint: String) throws -> RPCClient {
        try clients.withLock { all in
            if let c = all[endpoint] { return c }
            let c = RPCClient(serviceName: "replicator", endpoint: endpoint, curve: config.curveKeys, timeoutMillis: config.timeoutMillis, logger: logger)
            try c.start()
            all[endpoint] = c
            return c
        }
    }

    /// Each replicator's `replication_status`, or nil for one that did not answer in 2 s.
    func statuses() async -> [(endpoint: String, status: JSON?)] {
        await askEach { try await $0.call(op: "replication_status", body: [:], timeoutMillis: 2000) }.map { ($0.endpoint, $0.answer) }
    }

    /// Each replicator's answer to `metrics` (Prometheus text), or nil for one that did not answer in 2 s.
    func metricsTexts() async -> [(endpoint: String, text: String?)] {
        await askEach { try await $0.call(op: ServiceMetrics.operation, body: [:], timeoutMillis: 2000)["text"]?.stringValue }
            .map { ($0.endpoint, $0.answer) }
    }

    /// `ask` of every replicator at once, in endpoint order; nil where it failed.
    private func askEach<T: Sendable>(_ ask: @escaping @Sendable (RPCClient) async throws -> T?) async -> [(endpoint: String, answer: T?)] {
        await withTaskGroup(of: (Int, String, T?).self) { group in
            for (i, endpoint) in endpoints.enumerated() {
                group.addTask { (i, endpoint, try? await ask(self.client(endpoint))) }
            }
            var all: [(Int, String, T?)] = []
            for await r in group { all.append(r) }
            return all.sorted { $0.0 < $1.0 }.map { ($0.1, $0.2) }
        }
    }

    /// `cluster_status`: the replicators' views merged. A peer appears once: from the
    /// replicator that subscribes to it, with `publishing` true when any replicator of this
    /// node publishes to it (inbound connections land on any of them: they share the port).
    func clusterStatus() async -> JSON {
        let answers = await statuses()
        let live = answers.compactMap(\.status)
        guard let first = live.first else {
            return ["node_name": .string(config.nodeName), "is_enabled": false,
                    "url": config.replicationURL.map(JSON.string) ?? .null, "connections": []]
        }
        var order: [String] = []
        var byName: [String: JSON] = [:]
        for status in live {
            for connection in status["connections"]?.arrayValue ?? [] {
                guard let name = connection["name"]?.stringValue else { continue }
                guard let existing = byName[name] else {
                    order.append(name)
                    byName[name] = connection
                    continue
                }
                let (keep, other) = connection["subscribed"]?.boolValue == true ? (connection, existing) : (existing, connection)
                byName[name] = Self.merge(keep, publishingFrom: other)
            }
        }
        var result = first.objectValue ?? [:]
        result["connections"] = .array(order.compactMap { byName[$0] })
        result["refused_connections"] = JSON(live.reduce(0) { $0 + ($1["refused_connections"]?.intValue ?? 0) })
        result["replicator"] = nil
        result["replicators"] = .array(answers.map { answer in
            ["endpoint": .string(answer.endpoint), "replicator": answer.status?["replicator"] ?? .null,
             "status": answer.status == nil ? "unavailable" : "ok"]
        })
        return .object(result)
    }

    /// `keep`'s sockets, with the publisher-side fields taken from `other` where it publishes.
    static func merge(_ keep: JSON, publishingFrom other: JSON) -> JSON {
        guard var result = keep.objectValue, let sockets = keep["database_sockets"]?.arrayValue else { return keep }
        let others = Dictionary((other["database_sockets"]?.arrayValue ?? []).compactMap { s in s["database"]?.stringValue.map { ($0, s) } },
                                uniquingKeysWith: { a, _ in a })
        result["database_sockets"] = .array(sockets.map { socket in
            guard var s = socket.objectValue, let database = socket["database"]?.stringValue,
                  let o = others[database], o["publishing"]?.boolValue == true else { return socket }
            for key in ["publishing", "sendingMessage", "lag_entries"] { s[key] = o[key] }
            return .object(s)
        })
        return .object(result)
    }
}
