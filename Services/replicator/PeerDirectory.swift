import Foundation
import Logging
import SkeinCore
import SkeinReplication
import SkeinService

/// The cluster's membership as this replicator sees it: its routes plus the replicated
/// `hdb_nodes` table, read from the store every `pollSeconds`. On start it writes this
/// node's own record (when the table says something else) and a placeholder for each route
/// the table does not know yet. It tells the supervisor which peers to subscribe to, and
/// the publisher which names may subscribe.
final class PeerDirectory: Sendable {
    let config: NodeConfig
    let store: RPCClient
    let logger: Logger
    private let records = Locked<[JSON]>([])
    /// The node's databases (store `database_list`), for `replication.databases: "*"`.
    private let local = Locked<[String]>([])

    static let pollSeconds: UInt64 = 2

    init(config: NodeConfig, store: RPCClient, logger: Logger) {
        self.config = config
        self.store = store
        self.logger = logger
    }

    var url: String { config.replicationURL ?? "wss://\(config.replicationHost):\(config.replicationPort)" }

    /// Names allowed to subscribe here (routes of every region and `hdb_nodes` records).
    var allowedNames: Set<String> { PeerPlan.allowedNames(routes: config.routes, records: records.withLock { $0 }) }

    /// Databases replicated now: system, then the configured list or every local database.
    var databases: [String] { config.replicatedDatabases(local: local.withLock { $0 }) }

    /// Whether a peer may subscribe to `database` here (with `*`, any database name: one
    /// this node does not have yet simply streams nothing until it exists).
    func serves(_ database: String) -> Bool {
        if config.replicateAllDatabases {
            return !database.isEmpty && database.count <= 64 && database.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }
        }
        return config.replicatedDatabases().contains(database)
    }

    /// Peers to subscribe to now.
    var peers: [ReplicationRoute] {
        PeerPlan.peers(routes: config.routes, records: records.withLock { $0 }, ownName: config.nodeName, region: config.replicationRegion)
    }

    /// Polls forever, calling `changed` with the peers and databases whenever they differ.
    func run(changed: @Sendable ([ReplicationRoute], [String]) async -> Void) async {
        var announced = false
        var last: ([ReplicationRoute], [String])? = nil
        while !Task.isCancelled {
            do {
                let list = try await store.call(op: "node_list", body: [:])
                records.withLock { $0 = list.arrayValue ?? [] }
                if config.replicateAllDatabases {
                    let names = try await store.call(op: "database_list", body: [:])
                    local.withLock { $0 = (names.arrayValue ?? []).compactMap(\.stringValue) }
                }
                if !announced {
                    try await announce(initial: true)
                    announced = true
                } else if let last, last.1 != databases {
                    try await announce(initial: false)
                }
            } catch {
                logger.debug("cannot read hdb_nodes", metadata: ["error": .string("\(error)")])
            }
            let now = (peers, databases)
            if last == nil || now.0 != last!.0 || now.1 != last!.1 {
                if let last {
                    let added = Set(now.0.map(\.hostname)).subtracting(last.0.map(\.hostname))
                    if !added.isEmpty { logger.info("learned nodes from hdb_nodes", metadata: ["nodes": .string(added.sorted().joined(separator: ","))]) }
                    let newDatabases = Set(now.1).subtracting(last.1)
                    if !newDatabases.isEmpty { logger.info("replicating new databases", metadata: ["databases": .string(newDatabases.sorted().joined(separator: ","))]) }
                }
                last = now
                await changed(now.0, now.1)
            }
            try? await Task.sleep(for: .seconds(Self.pollSeconds))
        }
    }

    /// This node's own record (when the table says something else about it) and, on start,
    /// a placeholder for each owned route the table lacks. After the start only an existing
    /// own record is updated (its databases changed), so a node removed with `remove_node`
    /// stays out until it restarts.
    private func announce(initial: Bool) async throws {
        let known = Dictionary(records.withLock { $0 }.compactMap { r in r["name"]?.stringValue.map { ($0, r) } }, uniquingKeysWith: { a, _ in a })
        let ca = config.tlsCertificateAuthority.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) }
        let own = PeerPlan.ownRecord(name: config.nodeName, url: url, databases: databases, certificateAuthority: ca)
        if !initial && known[config.nodeName] == nil { return }
        if known[config.nodeName]?.hasFields(of: own) != true {
            _ = try await store.call(op: "node_upsert", body: ["record": own])
            logger.info("wrote this node's hdb_nodes record", metadata: ["url": .string(url)])
        }
        for route in config.ownedRoutes where initial && known[route.hostname] == nil {
            _ = try await store.call(op: "node_upsert", body: ["record": PeerPlan.routeRecord(route), "only_if_missing": true])
        }
    }
}
