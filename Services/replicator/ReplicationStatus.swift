import Foundation
import SkeinCore
import SkeinReplication
import SkeinService

/// What `replication_status` reports (and the gateway's `cluster_status` shows): one
/// entry per route, one socket per replicated database. Updated by the subscriber links
/// (outbound) and publisher connections (inbound); read by the RPC server.
final class ReplicationStatus: @unchecked Sendable {
    struct Socket {
        /// The outbound (subscriber) connection is up and past `hello`.
        var connected = false
        /// Round trip of the last `hello` exchange, in milliseconds.
        var latencyMillis: Double?
        /// When the last batch applied here was confirmed (applied durably, ack sent).
        var lastCommitConfirmed: UInt64?
        /// The HLC time of the newest entry received from the peer.
        var lastReceivedRemoteTime: UInt64?
        /// When the last batch arrived here.
        var lastReceivedLocalTime: UInt64?
        /// The peer's last sequence applied here.
        var cursor: UInt64 = 0
        /// The peer is subscribed to us (inbound connection past `hello`).
        var publishing = false
        /// When we last sent the peer a batch.
        var sendingMessage: UInt64?
        /// Entries of our log the peer has not acknowledged yet (publisher side).
        var lagEntries: UInt64?
        /// A full copy from the peer in progress ("Copying dog: 12000 rows"), else nil.
        var copying: String?
        /// Rows the copy imported so far, and the peer's rows in the tables it had left to
        /// copy when it began (nil when unknown).
        var copyRows: Int?
        var copyTotalRows: Int?
        /// The peer's last sequence as of its last batch (entries behind = this - cursor).
        var peerNewest: UInt64?
        /// Milliseconds from the newest write of the last applied batch (peer's clock) to its
        /// apply here (ours).
        var lagMillis: Int64?
        /// The peer's clock minus ours, from the hello exchange.
        var clockOffsetMillis: Int64?
        /// Bytes received from the peer on this connection.
        var received = ByteRate()
        /// Why the last full copy from this peer was made (first sync, pruned log, the
        /// peer's log restarted, ...), nil when there was none since the replicator started.
        var syncReason: String?
        /// Set while the link waits for local time to reach a peer entry written too far
        /// ahead (`replication.maxClockSkew`): what it waits for.
        var clockSkew: String?
        /// How many times the link paused for clock skew.
        var clockSkewPauses = 0
        /// Rows a full copy could not bring (too big for any message), by table and id.
        var oversizedRows: [String] = []
        /// Every write of the peer's own up to this HLC value is applied here (from the
        /// `clock` of its batches), and the peer's own frontier (its `frontier` frames).
        var watermark: UInt64?
        var peerFrontier: UInt64?
        /// The peer's record count per table of the database (its `record_counts` frames)
        /// and when they arrived: the last known, also while disconnected.
        var peerRecordCounts: [String: Int]?
        var peerRecordCountsAt: UInt64?
    }

    private let lock = NSLock()
    private var sockets: [String: [String: Socket]] = [:]
    private var refused = 0
    /// The peers subscribed to now (routes and learned nodes), in order.
    private var peers: [ReplicationRoute] = []

    /// The databases replicated now (system first).
    private var databases: [String] = ["system"]

    func setPeers(_ list: [ReplicationRoute], databases: [String]) {
        lock.lock()
        peers = list
        self.databases = databases
        lock.unlock()
    }

    /// A peer that left the cluster: its sockets disappear from the status.
    func forget(peer: String) {
        lock.lock()
        sockets[peer] = nil
        lock.unlock()
    }

    func update(peer: String, database: String, _ change: (inout Socket) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        change(&sockets[peer, default: [:]][database, default: Socket()])
    }

    /// A connection refused for its identity (wrong name, unknown node).
    func refusal() {
        lock.lock()
        refused += 1
        lock.unlock()
    }

    func json(config: NodeConfig) -> JSON {
        lock.lock()
        let snapshot = sockets
        let refusals = refused
        var shown = peers
        let databases = self.databases
        lock.unlock()
        // Peers subscribed to us that we do not subscribe to (another region's replicator
        // of ours holds that subscription) are shown too.
        for name in snapshot.keys.sorted() where !shown.contains(where: { $0.hostname == name }) {
            shown.append(ReplicationRoute(hostname: name))
        }
        let replicator = config.replicationRegion ?? "default"
        let subscribed = Set(peers.map(\.hostname))
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        func time(_ millis: UInt64?) -> JSON {
            millis.map { .string(LogSink.timestamp(Date(timeIntervalSince1970: Double($0) / 1000))) } ?? .null
        }
        let connections: [JSON] = shown.map { route in
            let sockets: [JSON] = databases.map { database in
                let s = snapshot[route.hostname]?[database] ?? Socket()
                return [
                    "database": .string(database), "connected": .bool(s.connected),
                    "latency": s.latencyMillis.map(JSON.number) ?? .null,
                    "lastCommitConfirmed": time(s.lastCommitConfirmed),
                    "lastReceivedRemoteTime": time(s.lastReceivedRemoteTime),
                    "lastReceivedLocalTime": time(s.lastReceivedLocalTime),
                    "sendingMessage": time(s.sendingMessage),
                    "cursor": JSON(s.cursor), "publishing": .bool(s.publishing),
                    "lag_entries": s.lagEntries.map { JSON($0) } ?? .null,
                    "copying": s.copying.map(JSON.string) ?? .null,
                    "copy_rows": s.copyRows.map { JSON($0) } ?? .null,
                    "copy_total_rows": s.copyTotalRows.map { JSON($0) } ?? .null,
                    "entries_behind": s.peerNewest.map { JSON($0 > s.cursor ? $0 - s.cursor : 0) } ?? .null,
                    "lag_ms": s.lagMillis.map { JSON(Int($0)) } ?? .null,
                    "clock_offset_ms": s.clockOffsetMillis.map { JSON(Int($0)) } ?? .null,
                    "bytes_per_second": .number(s.received.rate(now: now).rounded()),
                    "sync_reason": s.syncReason.map(JSON.string) ?? .null,
                    "clock_skew": s.clockSkew.map(JSON.string) ?? .null,
                    "clock_skew_pauses": JSON(s.clockSkewPauses),
                    "oversized_rows": JSON(s.oversizedRows),
                    "watermark": time(s.watermark.map { HLCTimestamp(rawValue: $0).millis }),
                    "peer_frontier": time(s.peerFrontier.map { HLCTimestamp(rawValue: $0).millis }),
                    "peer_record_counts": s.peerRecordCounts.map { JSON.object($0.mapValues { JSON($0) }) } ?? .null,
                    "peer_record_counts_at": time(s.peerRecordCountsAt),
                ]
            }
            let learned = !config.routes.contains { $0.hostname == route.hostname }
            return ["name": .string(route.hostname), "url": subscribed.contains(route.hostname) ? .string(route.url) : .null,
                    "replicator": .string(replicator), "subscribed": .bool(subscribed.contains(route.hostname)),
                    "source": .string(learned ? "hdb_nodes" : "route"), "database_sockets": .array(sockets)]
        }
        return [
            "node_name": .string(config.nodeName), "is_enabled": true, "replicator": .string(replicator),
            "url": .string(config.replicationURL ?? "wss://\(config.replicationHost):\(config.replicationPort)"),
            "connections": .array(connections), "refused_connections": JSON(refusals),
        ]
    }
}
