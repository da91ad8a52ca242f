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

    static let pollSeconds: UInt64 = 2

    init(config: NodeConfig, store: RPCClient, logger: Logger) {
        self.config = config
        self.store = store
        self.logger = logger
    }

    var url: String { config.replicationURL ?? "wss://\(config.replicationHost):\(config.replicationPort)" }

    /// Names allowed to subscribe here (routes of every region and `hdb_nodes` records).
    var allowedNames: Set<String> { PeerPlan.allowedNames(routes: config.routes, records: records.withLock { $0 }) }

    /// Peers to subscribe to now.
    var peers: [ReplicationRoute] {
        PeerPlan.peers(routes: config.routes, records: records.withLock { $0 }, ownName: config.nodeName, region: config.replicationRegion)
    }

    /// Polls forever, calling `changed` with the peer list whenever it differs.
    func run(changed: @Sendable ([ReplicationRoute]) async -> Void) async {
        var announced = false
        var last: [ReplicationRoute]? = nil
        while !Task.isCancelled {
            do {
                let list = try await store.call(op: "node_list", body: [:])
                records.withLock { $0 = list.arrayValue ?? [] }
                if !announced {
                    try await announce()
                    announced = true
                }
            } catch {
                logger.debug("cannot read hdb_nodes", metadata: ["error": .string("\(error)")])
            }
            let now = peers
            if now != last {
                if let last {
                    let added = Set(now.map(\.hostname)).subtracting(last.map(\.hostname))
                    if !added.isEmpty { logger.info("learned nodes from hdb_nodes", metadata: ["nodes": .string(added.sorted().joined(separator: ","))]) }
                }
                last = now
                await changed(now)
            }
            try? await Task.sleep(for: .seconds(Self.pollSeconds))
        }
    }

    /// This node's own record (when the table says something else about it) and a
    /// placeholder for each owned route the table lacks. Once per start, so a node removed
    /// with `remove_node` stays out until it restarts.
    private func announce() async throws {
        let known = Dictionary(records.withLock { $0 }.compactMap { r in r["name"]?.stringValue.map { ($0, r) } }, uniquingKeysWith: { a, _ in a })
        let ca = config.tlsCertificateAuthority.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) }
        let own = PeerPlan.ownRecord(name: config.nodeName, url: url, databases: config.replicatedDatabases, certificateAuthority: ca)
        if known[config.nodeName]?.hasFields(of: own) != true {
            _ = try await store.call(op: "node_upsert", body: ["record": own])
            logger.info("wrote this node's hdb_nodes record", metadata: ["url": .string(url)])
        }
        for route in config.ownedRoutes where known[route.hostname] == nil {
            _ = try await store.call(op: "node_upsert", body: ["record": PeerPlan.routeRecord(route), "only_if_missing": true])
        }
    }
}
