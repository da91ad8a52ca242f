import Foundation
import Logging
import NIOSSL
import SkeinCore
import SkeinService

/// Runs one `SubscriberLink` task per (peer, database) for the current peer list: starts
/// links for new peers, cancels those of peers that left `hdb_nodes` (routes stay).
actor LinkSupervisor {
    private let makeLink: @Sendable (ReplicationRoute, String) -> SubscriberLink
    private let databases: [String]
    private let status: ReplicationStatus
    private let logger: Logger
    private var running: [String: (route: ReplicationRoute, tasks: [Task<Void, Never>])] = [:]

    init(databases: [String], status: ReplicationStatus, logger: Logger, makeLink: @escaping @Sendable (ReplicationRoute, String) -> SubscriberLink) {
        self.databases = databases
        self.status = status
        self.logger = logger
        self.makeLink = makeLink
    }

    func reconcile(_ peers: [ReplicationRoute]) {
        let wanted = Dictionary(peers.map { ($0.hostname, $0) }, uniquingKeysWith: { a, _ in a })
        for (name, entry) in running where wanted[name] != entry.route {
            entry.tasks.forEach { $0.cancel() }
            running[name] = nil
            if wanted[name] == nil {
                status.forget(peer: name)
                logger.info("stopped subscribing", metadata: ["peer": .string(name)])
            }
        }
        for route in peers where running[route.hostname] == nil {
            let tasks = databases.map { database in
                let link = makeLink(route, database)
                return Task { await link.run() }
            }
            running[route.hostname] = (route, tasks)
        }
        status.setPeers(peers)
    }

    func stopAll() {
        for entry in running.values { entry.tasks.forEach { $0.cancel() } }
        running.removeAll()
    }
}
