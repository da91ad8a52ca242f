import Foundation
import Logging
import NIOSSL
import SkeinCore
import SkeinPeerNet
import SkeinReplication
import SkeinService

/// The socket side for one (route, database): dials the peer, subscribes from the
/// stored cursor to the entries the peer originated, applies each batch through the
/// store's `replication_apply` (entries and cursor in one transaction) and acknowledges
/// it. Reconnects forever, backing off from 100 ms, doubling to 5 s. When the peer pruned
/// its log past our cursor (`pruned`), copies its tables page by page (`copy_begin`,
/// `copy_page`; store `replication_import`), moves the cursor to where the copy was taken
/// and streams from there; an interrupted copy starts again on reconnect (imports merge by
/// last-write-wins, so re-importing changes nothing).
struct SubscriberLink: Sendable {
    let config: NodeConfig
    let route: ReplicationRoute
    let database: String
    let tls: TLSConfiguration
    let store: RPCClient
    let status: ReplicationStatus
    let initialSync: InitialSync
    let logger: Logger
    /// An interrupted full copy from this peer, continued by the next connection.
    let copyProgress = Locked<CopyProgress?>(nil)

    static let firstBackoffMillis: UInt64 = 100
    static let maxBackoffMillis: UInt64 = 5000
    static let tickMillis: UInt64 = 500
    static let copyLogEvery = 50_000
    /// How often a run of batches with nothing for us stores the cursor.
    static let emptyCursorSaveMillis: UInt64 = 5000

    struct Refused: Error, CustomStringConvertible { let description: String }

    var path: String {
        PeerListener.pathPrefix + (database.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? database)
    }

    var url: String { route.url + path }

    var metadata: Logger.Metadata { ["peer": .string(route.hostname), "database": .string(database), "url": .string(url)] }

    func run() async {
        var backoff = Self.firstBackoffMillis
        var lastProblem = ""
        while !Task.isCancelled {
            let subscribed = Locked(false)
            do {
                try await connectOnce(subscribed: subscribed)
                logger.info("replication connection closed by peer", metadata: metadata)
            } catch is CancellationError {
                return
            } catch {
                // The same failure again (peer down, refused) is logged once, then at debug.
                let problem = "\(error)"
                // A TLS failure is a refusal of identity: a certificate not from our CA, or
                // not carrying the route's name, on either side.
                let refused = Self.isRefusal(error)
                let level: Logger.Level = problem == lastProblem ? .debug : (refused ? .warning : .info)
                if refused { status.refusal() }
                logger.log(level: level, refused ? "refused replication connection" : "replication connection failed",
                           metadata: metadata.merging(["error": .string(problem), "retry_ms": .string("\(backoff)")]) { $1 })
                lastProblem = problem
            }
            status.update(peer: route.hostname, database: database) {
                $0.connected = false
                $0.copying = nil
            }
            if subscribed.withLock({ $0 }) {
                backoff = Self.firstBackoffMillis
                lastProblem = ""
            }
            try? await Task.sleep(for: .milliseconds(backoff))
            backoff = min(backoff * 2, Self.maxBackoffMillis)
        }
    }

    /// Identity failures: the peer's `hello`, or a TLS handshake that failed on a
    /// certificate (ours not trusted there, or theirs not trusted or misnamed here).
    static func isRefusal(_ error: any Error) -> Bool {
        error is Refused || PeerNetError.isRefusal(error)
    }

    private func connectOnce(subscribed: Locked<Bool>) async throws {
        let cursorReply = try await store.call(op: "replication_cursor", body: ["database": .string(database), "peer": .string(route.hostname)])
        let cursor = ReplicationCursor(sequence: try cursorReply.requiredSequence("cursor"), log: cursorReply["log_id"]?.stringValue)
        let socket = try await PeerDialer.connect(host: route.host, port: route.port, path: path, serverName: route.hostname,
                                                  sourceAddress: config.replicationSourceAddress, tls: tls,
                                                  maxMessageBytes: FrameIO.maxMessageBytes)
        do {
            try await converse(socket, cursor: cursor, subscribed: subscribed)
            await socket.close()
        } catch {
            await socket.close()
            throw error
        }
    }

    /// One connection's life: identities, then a first-sync copy or the stream.
    private func converse(_ socket: PeerSocket, cursor stored: ReplicationCursor, subscribed: Locked<Bool>) async throws {
        let cursor = stored.sequence
        // TLS checked the chain and that the certificate carries route.hostname (SNI,
        // full verification); revocation is ours.
        if let serial = socket.certificateSerial, config.revokedSerials.contains(serial) {
            await socket.close(policyViolation: "revoked certificate")
            throw Refused(description: "the peer's certificate serial \(serial) is revoked (tls.revokedSerials)")
        }
        let helloClock = Date(), helloSent = FrameIO.nowMillis()
        try await FrameIO.send(.hello(node: config.nodeName, time: helloSent), socket)
        guard case .hello(let name, let peerTime, let peerLog)? = try await FrameIO.next(socket) else {
            throw Refused(description: "the peer closed the connection or did not say hello (it refused us, or we are not in its routes)")
        }
        guard name == route.hostname else {
            await socket.close(policyViolation: "expected node \(route.hostname)")
            throw Refused(description: "peer states node name \"\(name)\", the route expects \"\(route.hostname)\"")
        }
        let latency = Date().timeIntervalSince(helloClock) * 1000
        var session = SubscriberSession(cursor: cursor, origins: [route.hostname], startTime: route.startTimeMillis,
                                        maxClockSkewMillis: config.maxClockSkewMillis)
        session.heard(now: FrameIO.nowMillis())
        let shared = Locked(session)
        let link = LinkState(log: peerLog)
        subscribed.withLock { $0 = true }
        // The peer's clock minus ours, assuming its hello was sent half-way through the round trip.
        let helloReceived = FrameIO.nowMillis()
        let offset = peerTime.map { Int64(bitPattern: $0) - Int64(bitPattern: (helloSent + helloReceived) / 2) }
        status.update(peer: route.hostname, database: database) {
            $0.connected = true
            $0.latencyMillis = (latency * 100).rounded() / 100
            $0.cursor = cursor
            $0.clockOffsetMillis = offset
        }
        // This node never synced this database from this peer: if it never synced it from
        // anyone, it is new, and the first peer to answer sends a full copy (one link per
        // database decides at a time). A cursor into another log than the peer's resyncs.
        let first = SubscriberSession.asksWhetherSynced(cursor: stored, peerLog: peerLog, startTime: route.startTimeMillis)
        if first { await initialSync.acquire(database) }
        do {
            let synced = first ? try await !isFirstSync() : true
            let start = SubscriberSession.start(cursor: stored, peerLog: peerLog, startTime: route.startTimeMillis, syncedFromAnyone: synced)
            switch start {
            case .firstSync:
                logger.info("first sync of this database: full copy from this peer", metadata: metadata)
                try await fullCopy(socket, shared, link, reason: "first sync of this database")
            case .resync(let reason):
                logger.warning("resynchronising with a full copy", metadata: metadata.merging(["reason": .string(reason)]) { $1 })
                try await fullCopy(socket, shared, link, reason: reason)
            case .subscribe:
                logger.info("subscribed", metadata: metadata.merging(["from": .string("\(cursor + 1)"), "log": .string(peerLog ?? "-")]) { $1 })
                try await FrameIO.send(.message(shared.withLock { $0.subscribe }), socket)
            }
            if first { await initialSync.release(database) }
        } catch {
            if first { await initialSync.release(database) }
            throw error
        }
        try await stream(socket, shared, link)
    }

    /// What one connection knows beyond the session: the peer's log identity, stored with
    /// the cursor on every apply.
    final class LinkState: Sendable {
        let log: String?
        init(log: String?) { self.log = log }
    }

    /// True when no peer's entries were ever applied to this database here.
    private func isFirstSync() async throws -> Bool {
        let reply = try await store.call(op: "replication_cursors", body: ["database": .string(database)])
        return (reply["cursors"]?.objectValue ?? [:]).values.allSatisfy { ($0.intValue ?? 0) == 0 }
    }

    /// Applies the stream until the peer closes it, re-subscribing when it goes quiet and
    /// copying when the peer says its log was pruned.
    private func stream(_ socket: PeerSocket, _ shared: Locked<SubscriberSession>, _ link: LinkState) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    // Re-subscribe when the stream went quiet (a lost subscribe, a stalled peer).
                    while !Task.isCancelled {
                        try await Task.sleep(for: .milliseconds(Self.tickMillis))
                        let (again, resumed) = shared.withLock { s -> (ReplicationMessage?, Bool) in
                            let wasPaused = s.paused != nil
                            let again = s.tick(now: FrameIO.nowMillis())
                            return (again, wasPaused && s.paused == nil)
                        }
                        if resumed {
                            logger.info("local time caught up with the peer's clock: streaming again", metadata: metadata)
                            status.update(peer: route.hostname, database: database) { $0.clockSkew = nil }
                        }
                        if let again { try await FrameIO.send(.message(again), socket) }
                    }
                }
                while let frame = try await FrameIO.next(socket, received: { bytes in
                    status.update(peer: route.hostname, database: database) { $0.received.add(bytes, now: FrameIO.nowMillis()) }
                }) {
                    guard case .message(let message) = frame else { throw FrameIO.ProtocolError(description: "hello sent twice") }
                    if let reason = try await handle(message, shared, socket, link) {
                        try await fullCopy(socket, shared, link, reason: reason)
                    }
                }
                group.cancelAll()
        }
    }

    /// Handles a streaming message; returns why a full copy is needed, when it is.
    private func handle(_ message: ReplicationMessage, _ session: Locked<SubscriberSession>, _ socket: PeerSocket,
                        _ link: LinkState) async throws -> String? {
        let received = FrameIO.nowMillis()
        let (action, pause) = session.withLock { s in
            s.heard(now: received)
            let wasPaused = s.paused != nil
            let action = s.receive(message, now: config.wallClock.nowMillis())
            return (action, wasPaused ? nil : s.paused)
        }
        if let pause {
            // Neither applied nor adopted by our clock: the link waits until local time is
            // within replication.maxClockSkew of the entry, then streams on by itself.
            let reason = "peer entry \(pause.sequence) is \(pause.aheadMillis) ms ahead of this node's clock (replication.maxClockSkew \(config.maxClockSkewMillis) ms): paused until local time catches up"
            logger.error("peer clock too far ahead: replication paused", metadata: metadata.merging([
                "sequence": .string("\(pause.sequence)"), "ahead_ms": .string("\(pause.aheadMillis)"), "max_clock_skew_ms": .string("\(config.maxClockSkewMillis)"),
            ]) { $1 })
            status.update(peer: route.hostname, database: database) {
                $0.clockSkew = reason
                $0.clockSkewPauses += 1
            }
        }
        if case .batch(_, _, _, let newest?) = message {
            status.update(peer: route.hostname, database: database) { $0.peerNewest = newest }
        }
        switch action {
        case .apply(let entries, let through):
            let newestWrite = entries.map(\.version.millis).max()
            status.update(peer: route.hostname, database: database) { s in
                s.lastReceivedLocalTime = received
                if let newestWrite { s.lastReceivedRemoteTime = newestWrite }
            }
            // A batch with nothing for us only moves the cursor: that is made durable at
            // most every few seconds (or with the next entries), not with a commit per batch;
            // after a restart those ranges are simply skipped again.
            let now = FrameIO.nowMillis()
            let skipStore = entries.isEmpty && now < session.withLock { $0.cursorSavedMillis } + Self.emptyCursorSaveMillis
            var reply: JSON = ["applied": 0, "cursor": JSON(through)]
            if !skipStore {
                reply = try await store.call(op: "replication_apply", body: [
                    "database": .string(database), "peer": .string(route.hostname), "through": JSON(through), "entries": .array(entries.map(\.json)),
                    "log_id": link.log.map(JSON.string) ?? .null,
                ])
                session.withLock { $0.cursorSavedMillis = now }
            }
            let stored = try reply.requiredSequence("cursor")
            let ack = session.withLock { $0.applied(through: max(through, stored)) }
            try await FrameIO.send(.message(ack), socket)
            status.update(peer: route.hostname, database: database) { s in
                let now = FrameIO.nowMillis()
                s.lastCommitConfirmed = now
                s.cursor = max(through, stored)
                // From the write on the peer to applied here (peer clock: see clock_offset_ms).
                if let newestWrite { s.lagMillis = Int64(bitPattern: now) - Int64(bitPattern: newestWrite) }
            }
            if !entries.isEmpty {
                logger.debug("applied batch", metadata: metadata.merging(["through": .string("\(through)"), "entries": .string("\(entries.count)"),
                                                                          "applied": .string("\((try? reply.requiredSequence("applied")) ?? 0)")]) { $1 })
            }
        case .send(let reply):
            try await FrameIO.send(.message(reply), socket)
        case .fullCopy(let oldest, let reason):
            let why = reason ?? "the peer pruned its log past our cursor"
            logger.warning("full copy needed", metadata: metadata.merging([
                "reason": .string(why), "oldest_retained": .string("\(oldest)"), "cursor": .string("\(session.withLock { $0.cursor })"),
            ]) { $1 })
            return why
        case .reject(let problem):
            throw FrameIO.ProtocolError(description: "the peer broke the protocol: \(problem)")
        case .none:
            break
        }
        return nil
    }

    /// The full copy (docs/INTERFACES.md §8): `copy_begin` → `copy_tables`; for each table,
    /// create it here if missing, then `copy_page` → `copy_rows` → `replication_import` until
    /// the last page (two pages in flight); then cursor = resume_from - 1 and `subscribe`.
    private func fullCopy(_ socket: PeerSocket, _ session: Locked<SubscriberSession>, _ link: LinkState, reason: String) async throws {
        status.update(peer: route.hostname, database: database) { $0.syncReason = reason }
        try await FrameIO.send(.message(session.withLock { $0.copyBegin }), socket)
        guard case .copyTables(let offered, let tables, let databases) = try await copyReply(socket) else {
            throw FrameIO.ProtocolError(description: "expected copy_tables")
        }
        let progress = copyProgress.withLock { p -> CopyProgress in
            if p == nil || p!.log != link.log { p = CopyProgress(resumeFrom: offered, log: link.log) } else { p!.restarted(resumeFrom: offered) }
            return p!
        }
        let resumeFrom = progress.resumeFrom
        let resumed = !progress.finished.isEmpty || progress.table != nil
        logger.info(resumed ? "full copy resumed" : "full copy started", metadata: metadata.merging([
            "tables": .string("\(tables.count)"), "resume_from": .string("\(resumeFrom)"),
            "tables_done": .string("\(progress.finished.count)"), "table": .string(progress.table ?? "-"), "rows": .string("\(progress.rows)"),
        ]) { $1 })
        if config.replicateAllDatabases, let databases { try await createMissing(databases) }
        let existing = try await localTables()
        var total = 0
        for table in tables {
            guard let name = table["name"]?.stringValue, !progress.isFinished(name) else { continue }
            if !existing.contains(name) { try await createTable(name, table) }
            var (after, rows) = progress.start(of: name)
            // Two pages in flight: the next one is asked for before this one is imported, so
            // the peer reads while we write (memory stays bounded at two pages).
            try await FrameIO.send(.message(.copyPage(table: name, after: after)), socket)
            while true {
                guard case .copyRows(let t, let page, let last, let oversized) = try await copyReply(socket), t == name else {
                    throw FrameIO.ProtocolError(description: "expected copy_rows for table \(name)")
                }
                if !oversized.isEmpty {
                    let ids = oversized.map { "\($0["id"]?.text ?? "?") (\($0["oversized"]?.text ?? "?") bytes)" }
                    logger.error("the peer could not send rows bigger than a replication message", metadata: metadata.merging([
                        "table": .string(name), "rows": .string(ids.joined(separator: ", ")),
                    ]) { $1 })
                    status.update(peer: route.hostname, database: database) { $0.oversizedRows += ids.map { "\(name):\($0)" } }
                }
                try checkClock(page)
                if let last { try await FrameIO.send(.message(.copyPage(table: name, after: last)), socket) }
                if !page.isEmpty {
                    _ = try await store.call(op: "replication_import", body: [
                        "database": .string(database), "table": .string(name), "rows": .array(page),
                    ])
                }
                rows += page.count
                after = last
                let soFar = rows, through = after
                copyProgress.withLock { $0?.imported(name, through: through, rows: soFar) }
                let shown = "Copying \(name): \(rows) rows"
                status.update(peer: route.hostname, database: database) { $0.copying = shown }
                // Progress in the log every 50,000 rows and at each table's end.
                if last == nil || rows / Self.copyLogEvery != (rows - page.count) / Self.copyLogEvery {
                    logger.info("copying", metadata: metadata.merging(["table": .string(name), "rows": .string("\(rows)")]) { $1 })
                }
                guard last != nil else { break }
            }
            copyProgress.withLock { $0?.finish(name) }
            total += rows
        }
        // Stream from where the copy was taken: cursor = resume_from - 1 in the peer's log,
        // durably (a restart does not copy again), even when that is behind the old cursor
        // (the peer's log restarted or went back).
        let cursor = resumeFrom > 0 ? resumeFrom - 1 : 0
        _ = try await store.call(op: "replication_apply", body: [
            "database": .string(database), "peer": .string(route.hostname), "through": JSON(cursor), "entries": [],
            "log_id": link.log.map(JSON.string) ?? .null, "restart": true,
        ])
        copyProgress.withLock { $0 = nil }
        let subscribe = session.withLock { s in
            s.copied(resumeFrom: cursor + 1)
            s.heard(now: FrameIO.nowMillis())
            return s.subscribe
        }
        status.update(peer: route.hostname, database: database) {
            $0.copying = nil
            $0.cursor = cursor
            $0.lastCommitConfirmed = FrameIO.nowMillis()
        }
        logger.info("full copy finished", metadata: metadata.merging([
            "tables": .string("\(tables.count)"), "rows": .string("\(total)"), "from": .string("\(cursor + 1)"),
        ]) { $1 })
        try await FrameIO.send(.message(subscribe), socket)
    }

    /// A copied row written further ahead of local time than `replication.maxClockSkew` is
    /// neither imported nor observed by the clock: the copy stops here (its progress is kept)
    /// and the reconnect loop retries it until local time has caught up.
    private func checkClock(_ page: [JSON]) throws {
        let newest = page.compactMap { $0["version"]?.stringValue.flatMap(UInt64.init).map { HLCTimestamp(rawValue: $0).millis } }.max() ?? 0
        guard let ahead = SubscriberSession.tooFarAhead(newest, now: config.wallClock.nowMillis(), maxClockSkewMillis: config.maxClockSkewMillis) else {
            status.update(peer: route.hostname, database: database) { $0.clockSkew = nil }
            return
        }
        let reason = "a copied row is \(ahead) ms ahead of this node's clock (replication.maxClockSkew \(config.maxClockSkewMillis) ms): the copy waits until local time catches up"
        status.update(peer: route.hostname, database: database) {
            if $0.clockSkew == nil { $0.clockSkewPauses += 1 }
            $0.clockSkew = reason
        }
        throw ClockSkew(description: reason)
    }

    struct ClockSkew: Error, CustomStringConvertible { let description: String }

    /// The next copy reply, skipping stream frames still on the way (none are expected:
    /// the publisher stopped streaming when it sent `pruned`).
    private func copyReply(_ socket: PeerSocket) async throws -> ReplicationMessage {
        while let frame = try await FrameIO.next(socket) {
            guard case .message(let message) = frame else { throw FrameIO.ProtocolError(description: "hello sent twice") }
            switch message {
            case .copyTables, .copyRows: return message
            default: continue
            }
        }
        throw FrameIO.ProtocolError(description: "the peer closed the connection during a full copy")
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
                guard "\(error)".contains("already exists") else { throw error }
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

    /// Creates a copied table here from its description (primary key and attributes). The
    /// creation is logged here like any schema change; the peer applying it back finds
    /// the table and does nothing.
    private func createTable(_ name: String, _ description: JSON) async throws {
        do {
            _ = try await store.call(op: "create_table", body: [
                "database": .string(database), "table": .string(name),
                "primary_key": description["primary_key"] ?? "id", "attributes": description["attributes"] ?? [],
            ])
            logger.info("copied table created", metadata: metadata.merging(["table": .string(name)]) { $1 })
        } catch {
            // Created meanwhile (a local create_table, a streamed entry): nothing to do.
            guard "\(error)".contains("already exists") else { throw error }
        }
    }
}
