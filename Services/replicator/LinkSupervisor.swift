import Foundation
import Logging
import NIOSSL
import SkeinCore
import SkeinService

/// Runs one `SubscriberLink` task per (peer, database) for the current peer list: starts
/// links for new peers, cancels those of peers that left `hdb_nodes` (routes stay).
actor LinkSupervisor {
    private let makeLink: @Sendable (ReplicationRoute, String) -> SubscriberLink
    private let status: ReplicationStatus
    private let pruner: TombstonePruner
    private let logger: Logger
    /// Running links by peer, then database.
    private var running: [String: (route: ReplicationRoute, tasks: [String: Task<Void, Never>])] = [:]

    init(status: ReplicationStatus, pruner: TombstonePruner, logger: Logger, makeLink: @escaping @Sendable (ReplicationRoute, String) -> SubscriberLink) {
        self.status = status
        self.pruner = pruner
        self.logger = logger
        self.makeLink = makeLink
    }

    /// Links for every (peer, database) now wanted; others are cancelled.
    func reconcile(_ peers: [ReplicationRoute], databases: [String]) {
        let wanted = Dictionary(peers.map { ($0.hostname, $0) }, uniquingKeysWith: { a, _ in a })
        for (name, entry) in running where wanted[name] != entry.route {
            entry.tasks.values.forEach { $0.cancel() }
            running[name] = nil
            if wanted[name] == nil {
                status.forget(peer: name)
                entry.tasks.keys.forEach { SubscriberMetrics.forget(peer: name, database: $0) }
                logger.info("stopped subscribing", metadata: ["peer": .string(name)])
            }
        }
        for route in peers {
            var entry = running[route.hostname] ?? (route, [:])
            for (database, task) in entry.tasks where !databases.contains(database) {
                task.cancel()
                entry.tasks[database] = nil
                SubscriberMetrics.forget(peer: route.hostname, database: database)
            }
            for database in databases where entry.tasks[database] == nil {
                let link = makeLink(route, database)
                entry.tasks[database] = Task { await link.run() }
            }
            running[route.hostname] = entry
        }
        status.setPeers(peers, databases: databases)
        pruner.setPeers(Set(peers.map(\.hostname)), databases: databases)
    }

    func stopAll() {
        for entry in running.values { entry.tasks.values.forEach { $0.cancel() } }
        running.removeAll()
    }
}
