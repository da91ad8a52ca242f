import Foundation
import Logging
import SkeinCore
import SkeinReplication
import SkeinService

/// Keeps the node's `TombstoneHorizon` (watermarks from the subscriber links, peers'
/// frontiers from the publisher connections) and, every few seconds, has the store drop
/// the tombstones of each replicated database that are not newer (`tombstone_prune`).
///
/// Only a replicator that sees every peer of the node may prune or state a frontier: one
/// that serves a region (`replication.region`) knows only its routes, so a node with
/// regional replicators keeps its tombstones and holds its peers' pruning back (said once
/// in the log).
final class TombstonePruner: Sendable {
    private let config: NodeConfig
    private let store: RPCClient
    private let logger: Logger
    private let state = Locked(State())

    struct State {
        var horizon = TombstoneHorizon()
        var peers: Set<String> = []
        var databases: [String] = []
        /// The horizon each database was last pruned to.
        var pruned: [String: UInt64] = [:]
    }

    static let intervalMillis: UInt64 = 5000

    init(config: NodeConfig, store: RPCClient, logger: Logger) {
        self.config = config
        self.store = store
        self.logger = logger
    }

    /// Whether this replicator sees every peer of the node.
    var seesEveryPeer: Bool { config.replicationRegion == nil }

    /// The peers and databases the links serve now (the supervisor's reconcile).
    func setPeers(_ peers: Set<String>, databases: [String]) {
        state.withLock {
            $0.peers = peers
            $0.databases = databases
        }
    }

    func watermark(peer: String, database: String, _ value: UInt64?) {
        state.withLock { $0.horizon.watermark(peer: peer, database: database, value) }
    }

    func reported(peer: String, database: String, _ value: UInt64?) {
        state.withLock { $0.horizon.reported(peer: peer, database: database, value) }
    }

    /// This node's frontier of `database`, sent to each peer by the subscriber links. A
    /// regional replicator has none: its links cover only some of the node's peers.
    func frontier(database: String) -> UInt64? {
        guard seesEveryPeer else { return nil }
        return state.withLock { $0.horizon.frontier(database: database, peers: $0.peers) }
    }

    /// Prunes every few seconds, until cancelled.
    func run() async {
        guard seesEveryPeer else {
            logger.info("tombstone pruning is off: this replicator serves one region (replication.region) and does not see every peer")
            return
        }
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(Self.intervalMillis))
            await pruneOnce()
        }
    }

    /// Has the store drop each database's tombstones up to its horizon, when it moved.
    func pruneOnce() async {
        let now = config.wallClock.nowMillis()
        let due: [(String, UInt64)] = state.withLock { s in
            s.databases.compactMap { db in
                guard let h = s.horizon.horizon(database: db, peers: s.peers, now: now, minAgeMillis: 2 * config.maxClockSkewMillis),
                      h > s.pruned[db, default: 0] else { return nil }
                return (db, h)
            }
        }
        for (database, horizon) in due {
            do {
                let reply = try await store.call(op: "tombstone_prune", body: ["database": .string(database), "through": .string(String(horizon))])
                state.withLock { $0.pruned[database] = horizon }
                let count = reply["pruned"]?.intValue ?? 0
                if count > 0 {
                    logger.info("pruned tombstones every peer has applied", metadata: [
                        "database": .string(database), "tombstones": .string("\(count)"),
                        "through": .string(HLCTimestamp(rawValue: horizon).description),
                    ])
                }
            } catch {
                if error.status != 404 {
                    logger.warning("tombstone pruning failed", metadata: ["database": .string(database), "error": .string("\(error)")])
                }
            }
        }
    }
}
