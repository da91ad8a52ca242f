import Foundation
import Logging
import NIOSSL
import SkeinCore
import SkeinPeerNet
import SkeinReplication
import SkeinService

/// The I/O around one (route, database)'s `SubscriberMachine`: dials the peer, feeds the
/// machine the connection, each frame, the store's answers and a tick every 500 ms, and does
/// what it returns (send frames, run store commands in order, log, close). Every protocol
/// decision is the machine's. Reconnects forever, backing off from 100 ms, doubling to 5 s
/// (reset once a connection got past `hello`); the machine, with a copy's progress, lives
/// as long as the link.
struct SubscriberLink: Sendable {
    let config: NodeConfig
    let route: ReplicationRoute
    let database: String
    let tls: TLSConfiguration
    let store: RPCClient
    let status: ReplicationStatus
    let initialSync: InitialSync
    let pruner: TombstonePruner
    let logger: Logger
    let machine: Locked<SubscriberMachine>
    /// The last frame as received (a batch's entries, a copy page's rows as bytes), for the
    /// apply or import that follows it.
    let received = Locked<ReceivedFrame?>(nil)
    /// This link's series (batches, bytes, apply latency, lag, state) in the scrape.
    let metrics: SubscriberMetrics

    static let firstBackoffMillis: UInt64 = 100
    static let maxBackoffMillis: UInt64 = 5000
    static let tickMillis: UInt64 = 500
    /// Entries' bytes of batches joined into one apply at most: a publisher's batch bound.
    static let joinedBatchBytes = PublisherConnection.batchBytes

    init(config: NodeConfig, route: ReplicationRoute, database: String, tls: TLSConfiguration, store: RPCClient,
         status: ReplicationStatus, initialSync: InitialSync, pruner: TombstonePruner, logger: Logger) {
        self.config = config
        self.route = route
        self.database = database
        self.tls = tls
        self.store = store
        self.status = status
        self.initialSync = initialSync
        self.pruner = pruner
        self.logger = logger
        metrics = SubscriberMetrics(peer: route.hostname, database: database)
        machine = Locked(SubscriberMachine(config: .init(
            node: config.nodeName, peer: route.hostname, database: database, startTime: route.startTimeMillis,
            maxClockSkewMillis: config.maxClockSkewMillis, revokedSerials: config.revokedSerials,
            createsDatabases: config.replicateAllDatabases)))
    }

    /// The connection ended for the machine's reason: `refused` is an identity refusal.
    struct Closed: Error, CustomStringConvertible {
        let description: String
        let refused: Bool
    }

    var path: String {
        PeerListener.pathPrefix + (database.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? database)
    }

    var url: String { route.url + path }

    var metadata: Logger.Metadata { ["peer": .string(route.hostname), "database": .string(database), "url": .string(url)] }

    func run() async {
        var backoff = Self.firstBackoffMillis
        var lastProblem = ""
        while !Task.isCancelled {
            do {
                try await connectOnce()
                logger.info("replication connection closed by peer", metadata: metadata)
            } catch is CancellationError {
                return
            } catch {
                // The same failure again (peer down, refused) is logged once, then at debug.
                let problem = "\(error)"
                // A TLS failure is a refusal of identity: a certificate not from our CA, or
                // not carrying the route's name, on either side.
                let refused = (error as? Closed)?.refused ?? PeerNetError.isRefusal(error)
                let level: Logger.Level = problem == lastProblem ? .debug : (refused ? .warning : .info)
                if refused { status.refusal() }
                logger.log(level: level, refused ? "refused replication connection" : "replication connection failed",
                           metadata: metadata.merging(["error": .string(problem), "retry_ms": .string("\(backoff)")]) { $1 })
                lastProblem = problem
            }
            let greeted = machine.withLock { m in
                let greeted = m.greeted
                m.disconnected()
                return greeted
            }
            publishStatus()
            if greeted {
                backoff = Self.firstBackoffMillis
                lastProblem = ""
            }
            try? await Task.sleep(for: .milliseconds(backoff))
            backoff = min(backoff * 2, Self.maxBackoffMillis)
        }
    }

    /// One connection's life.
    private func connectOnce() async throws {
        let socket = try await PeerDialer.connect(host: route.host, port: route.port, path: path, serverName: route.hostname,
                                                  sourceAddress: config.replicationSourceAddress, tls: tls,
                                                  maxMessageBytes: FrameIO.maxMessageBytes)
        let turn = Locked(false)
        do {
            try await execute(machine.withLock { $0.step(.connected(certificateSerial: socket.certificateSerial, now: now())) }, socket, turn)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    // Time passes: re-subscribe when the stream went quiet, resume after a
                    // clock-skew pause (a tick only ever sends frames).
                    while !Task.isCancelled {
                        try await Task.sleep(for: .milliseconds(Self.tickMillis))
                        let frontier = pruner.frontier(database: database)
                        try await execute(machine.withLock { $0.step(.tick(now: now(), frontier: frontier)) }, socket, turn)
                    }
                }
                // The socket is read on while the store applies: what queued up meanwhile is
                // taken at once, consecutive batches joined into one apply.
                let inbox = FrameInbox()
                group.addTask {
                    do {
                        while let next = try await FrameIO.nextWithEntries(socket, received: { bytes in
                            status.update(peer: route.hostname, database: database) { $0.received.add(bytes, now: FrameIO.nowMillis()) }
                            metrics.received(bytes: bytes)
                        }) {
                            if case .message(.batch(_, _, let entries, _, _)) = next.frame { metrics.ages.record(.received, entries, nowMillis: now()) }
                            inbox.push(next)
                        }
                        inbox.finish(.success(()))
                    } catch {
                        inbox.finish(.failure(error))
                    }
                }
                do {
                    while let frames = try await inbox.take() {
                        let coalesced = ReceivedFrame.coalesce(frames, maxBytes: Self.joinedBatchBytes)
                        metrics.joined(frames.count - coalesced.count)
                        for next in coalesced {
                            if case .message(.batch(_, _, let entries, _, _)) = next.frame { metrics.ages.record(.taken, entries, nowMillis: now()) }
                            received.withLock { $0 = next }
                            try await execute(machine.withLock { $0.step(.frame(next.frame, now: now())) }, socket, turn)
                        }
                    }
                } catch {
                    // The reader ends only when the socket does (a receive does not stop at
                    // cancellation while the peer keeps sending): close it, then leave.
                    await socket.close()
                    throw error
                }
                group.cancelAll()
            }
        } catch {
            await release(turn)
            if !(error is Closed) { await socket.close() }  // a machine's close already closed it
            throw error
        }
        await release(turn)
        await socket.close()
    }

    private func now() -> UInt64 { config.wallClock.nowMillis() }

    /// Does what the machine asked: frames out, logs, then store commands in order, each
    /// answer fed back (its own frames and commands join the queue); then the close.
    private func execute(_ first: SubscriberMachine.Ready, _ socket: PeerSocket, _ turn: Locked<Bool>) async throws {
        var ready = first
        var queue: [SubscriberMachine.StoreCommand] = []
        while true {
            for frame in ready.frames { try await FrameIO.send(frame, socket) }
            for event in ready.logs { logger.log(event, metadata: metadata) }
            publishStatus()
            if let close = ready.close {
                // Closed here: the frame loop may be waiting on the socket while a tick ended it.
                if close.refused { await socket.close(policyViolation: String(close.reason.prefix(120))) } else { await socket.close() }
                throw Closed(description: close.reason, refused: close.refused)
            }
            queue += ready.store
            guard !queue.isEmpty else { return }
            let result = try await run(queue.removeFirst(), turn)
            ready = machine.withLock { $0.step(.stored(result, now: now())) }
        }
    }

    private func run(_ command: SubscriberMachine.StoreCommand, _ turn: Locked<Bool>) async throws -> SubscriberMachine.StoreResult {
        let db: JSON = .string(database), peer: JSON = .string(route.hostname)
        switch command {
        case .readCursor:
            let reply = try await store.call(op: "replication_cursor", body: ["database": db, "peer": peer])
            return .cursor(ReplicationCursor(sequence: try reply.requiredSequence("cursor"), log: reply["log_id"]?.stringValue))
        case .takeFirstSyncTurn:
            await initialSync.acquire(database)
            turn.withLock { $0 = true }
            return .done
        case .releaseFirstSyncTurn:
            await release(turn)
            return .done
        case .syncedFromAnyone:
            let reply = try await store.call(op: "replication_cursors", body: ["database": db])
            guard let cursors = reply["cursors"]?.objectValue else { throw JSON.MissingField(field: "cursors", reply: reply.text) }
            return .synced(try cursors.values.contains { v in
                guard let n = v.intValue else { throw JSON.MissingField(field: "cursors", reply: reply.text) }
                return n > 0
            })
        case .apply(let entries, let through, let log, let restart):
            var request: JSON = ["database": db, "peer": peer, "through": JSON(through), "log_id": log.map(JSON.string) ?? .null, "restart": .bool(restart)]
            let reply: JSON
            let raw = received.withLock({ $0?.entries })
            if let raw, raw.are(entries) {
                // The whole batch: its entries go to the store as they came, not rebuilt.
                let body = JSON.object(splicing: raw.bytes, as: "entries", with: request)
                reply = try await metrics.applying { try await store.call(RPCRequest(header: ["op": "replication_apply"], body: body)).result() }
            } else {
                // Part of a batch (cut at a clock-skew pause): the entries were decoded to
                // their headers only, so they are read whole from the batch's bytes.
                guard let whole = entries.isEmpty ? [] : raw?.whole(entries) else {
                    throw SkeinError.internal("the entries to apply are not in the batch received")
                }
                request = request.adding("entries", .array(whole.map(\.json)))
                reply = try await metrics.applying { try await store.call(op: "replication_apply", body: request) }
            }
            metrics.ages.record(.applied, entries, nowMillis: now())
            return .applied(cursor: try reply.requiredSequence("cursor"))
        case .createDatabases(let names):
            try await createMissing(names)
            return .done
        case .createTables(let tables):
            let existing = try await localTables()
            for table in tables {
                guard let name = table["name"]?.stringValue, !existing.contains(name) else { continue }
                try await createTable(name, table)
            }
            return .done
        case .importRows(let table, let rows):
            // The rows were decoded to their fields only: they go to the store as received.
            guard let raw = received.withLock({ $0?.rows }), raw.are(table, rows) else {
                throw SkeinError.internal("the rows to import are not the copy page received")
            }
            let body = JSON.object(splicing: raw.bytes, as: "rows", with: ["database": db, "table": .string(table)])
            _ = try await store.call(RPCRequest(header: ["op": "replication_import"], body: body)).result()
            return .done
        }
    }

    private func release(_ turn: Locked<Bool>) async {
        if turn.withLock({ held in defer { held = false }; return held }) { await initialSync.release(database) }
    }

    /// The machine's view of the link, in `cluster_status`.
    private func publishStatus() {
        let s = machine.withLock { $0.status }
        pruner.watermark(peer: route.hostname, database: database, s.watermark)
        metrics.state(connected: s.connected, lagMillis: s.lagMillis)
        status.update(peer: route.hostname, database: database) {
            $0.connected = s.connected
            $0.latencyMillis = s.latencyMillis
            $0.cursor = s.cursor
            $0.clockOffsetMillis = s.clockOffsetMillis
            $0.copying = s.copying
            $0.copyRows = s.copyRows
            $0.copyTotalRows = s.copyTotalRows
            $0.syncReason = s.syncReason
            $0.clockSkew = s.clockSkew
            $0.clockSkewPauses = s.clockSkewPauses
            $0.oversizedRows = s.oversizedRows
            $0.watermark = s.watermark
            $0.peerRecordCounts = s.peerRecordCounts
            $0.peerRecordCountsAt = s.peerRecordCountsAt
            $0.peerNewest = s.peerNewest
            $0.lagMillis = s.lagMillis
            $0.lastCommitConfirmed = s.lastCommitConfirmed
            $0.lastReceivedLocalTime = s.lastReceivedLocalTime
            $0.lastReceivedRemoteTime = s.lastReceivedRemoteTime
        }
    }

    /// A new node replicating every database learns the peer's from the system copy and
    /// creates those it lacks (logged like any create_database: a no-op where they exist).
    private func createMissing(_ databases: [String]) async throws {
        let local = Set((try await store.call(op: "database_list", body: [:]).arrayValue ?? []).compactMap(\.stringValue))
        for name in databases where !local.contains(name) {
            do {
                _ = try await store.call(op: "create_database", body: ["database": .string(name)])
                logger.info("created database learned from the peer", metadata: metadata.merging(["created": .string(name)]) { $1 })
            } catch {
                // Created meanwhile: nothing to do.
                let now = (try await store.call(op: "database_list", body: [:]).arrayValue ?? []).compactMap(\.stringValue)
                guard (error as? SkeinError)?.status == 400, now.contains(name) else { throw error }
            }
        }
    }

    /// The tables this node has in the database (none when it does not exist yet).
    private func localTables() async throws -> Set<String> {
        do {
            let described = try await store.call(op: "describe_database", body: ["database": .string(database)])
            return Set((described.objectValue ?? [:]).keys)
        } catch {
            if PublisherConnection.isNotFound(error) { return [] }
            throw error
        }
    }

    /// Creates a copied table here from its description (primary key, attributes, TTL,
    /// `audit`). The
    /// creation is logged here like any schema change; the peer applying it back finds
    /// the table and does nothing.
    private func createTable(_ name: String, _ description: JSON) async throws {
        do {
            _ = try await store.call(op: "create_table", body: [
                "database": .string(database), "table": .string(name),
                "primary_key": description["primary_key"] ?? "id", "attributes": description["attributes"] ?? [],
                "expiration": description["expiration"] ?? .null, "audit": description["audit"] ?? .null,
            ])
            logger.info("copied table created", metadata: metadata.merging(["table": .string(name)]) { $1 })
        } catch {
            // Created meanwhile (a local create_table, a streamed entry): nothing to do.
            guard (error as? SkeinError)?.status == 400, try await localTables().contains(name) else { throw error }
        }
    }
}
