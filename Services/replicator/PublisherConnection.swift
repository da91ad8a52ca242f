import Foundation
import Logging
import SkeinCore
import SkeinPeerNet
import SkeinReplication
import SkeinService

/// The I/O around one inbound connection's `PublisherMachine` (a peer subscribed to this
/// node's log of one database): frames in, the machine's commands run against auditd and
/// the store, frames out. Two loops feed the machine: the frame loop (hello, subscribe,
/// acks, copy requests) and the pump, which ticks it and runs its long-polling log reads:
/// from the store's commit feed (`RecentLogs`) when the peer is caught up, else auditd's
/// `audit_stream` (woken by commit notices). Every protocol decision is the machine's.
struct PublisherConnection: Sendable {
    let config: NodeConfig
    let database: String
    /// CN and DNS SANs of the peer's certificate (its chain already verified by TLS).
    let certificateNames: Set<String>
    /// The peer certificate's serial number (lowercase hex), checked against `tls.revokedSerials`.
    let certificateSerial: String?
    /// Who may subscribe: routes and `hdb_nodes` (read when the peer says hello).
    let directory: PeerDirectory
    /// The peer's address and port as seen here (logged: shows the source address it dialled from).
    let remoteAddress: String
    let store: RPCClient
    let auditd: RPCClient
    /// The newest entries of each database from the store's commit feed (nil: no feed).
    let recent: RecentLogs?
    let status: ReplicationStatus
    let pruner: TombstonePruner
    /// This node's record counts, for subscribers that show them (`record_counts` frames).
    let recordCounts: LocalRecordCounts
    let logger: Logger
    /// The entries of the last log read as auditd sent them (stored bytes), so a batch of
    /// all of them goes out spliced, not rebuilt and serialized again.
    let lastRead = Locked<ReplicationFrame.RawEntries?>(nil)
    /// The rows of the last exported copy page as the store sent them (records as stored),
    /// so the page goes out spliced, never built and serialized again.
    let lastPage = Locked<ReplicationFrame.RawRows?>(nil)
    /// Fired by the frame loop: an ack may have freed the window the pump rests on.
    let news = Wakeup()
    /// Fired by the commit feed: the database's log grew.
    let feedNews = Wakeup()
    /// The oldest retained sequence as auditd last reported it (what a read served from
    /// the feed reports: only a read of the log itself can tell a pruned position).
    let oldestRetained = Locked<UInt64>(1)

    static let batchSize = 500
    /// Stored bytes per batch at most (entries of big inserts): well inside the 64 MB
    /// message limit, so a batch always fits.
    static let batchBytes = 16 << 20
    static let waitMillis = 1000
    /// How long a caught-up peer's cursor may stay behind entries of other origins (see
    /// `readRecent`).
    static let othersDelayMillis = 200
    /// Rows per `copy_rows` page (at most two in flight: the subscriber asks for each), and
    /// stored bytes per page, so a page of big rows still fits the 64 MB message limit.
    /// 3,000 rows (~1.4 MB of typical records): pages of 1,000 cost a durable import commit
    /// and a round trip per 1,000 rows (bench-cluster, 300k rows: full copy 86k → 105-109k
    /// records/s); pages of 4,000 took the receiver's heap growth to ~100 MB.
    static let copyPageRows = 3000
    static let copyPageBytes = 16 << 20
    /// A stored record bigger than this cannot travel in any message: named, not sent.
    static let copyMaxRowBytes = ReplicationLimits.maxEntryBytes

    struct Closed: Error, CustomStringConvertible {
        let description: String
        let refused: Bool
    }

    func run(socket outbound: PeerSocket) async {
        let machine = Locked(PublisherMachine(
            config: .init(node: config.nodeName, database: database, revokedSerials: config.revokedSerials, batchSize: Self.batchSize,
                          batchBytes: Self.batchBytes),
            certificateNames: certificateNames, certificateSerial: certificateSerial))
        recent?.watch(database, feedNews)
        defer { recent?.unwatch(database, feedNews) }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await pump(machine, outbound) }
                while let frame = try await FrameIO.next(outbound) {
                    try await execute(machine.withLock { $0.step(.frame(frame, allowed: directory.allowedNames, now: now())) }, machine, outbound)
                    news.fire()
                }
                group.cancelAll()
            }
        } catch let closed as Closed where closed.refused {
        } catch is CancellationError {
        } catch {
            logger.info("inbound replication connection closed", metadata: [
                "peer": .string(machine.withLock { $0.peer } ?? "-"), "database": .string(database), "error": .string("\(error)"),
            ])
            if !(error is Closed) { await outbound.close() }
        }
        let peer = machine.withLock { m in
            m.disconnected()
            return m.peer
        }
        if let peer {
            // A peer that is not connected holds tombstone pruning back.
            pruner.reported(peer: peer, database: database, nil)
            status.update(peer: peer, database: database) { $0.publishing = false }
            logger.info("peer unsubscribed", metadata: ["peer": .string(peer), "database": .string(database)])
        }
    }

    private func now() -> UInt64 { config.wallClock.nowMillis() }

    private func refused(_ reason: String, _ machine: Locked<PublisherMachine>) {
        status.refusal()
        logger.warning("refused replication connection", metadata: [
            "reason": .string(reason), "stated_node": .string(machine.withLock { $0.stated } ?? "-"), "database": .string(database),
            "certificate_names": .string(certificateNames.sorted().joined(separator: ",")),
        ])
    }

    /// Ticks the machine and runs its log reads; rests up to 25 ms when it has nothing to
    /// read (its window of batches in flight is full, or it is not serving), or until a
    /// frame from the subscriber came in (an ack frees the window).
    private func pump(_ machine: Locked<PublisherMachine>, _ outbound: PeerSocket) async throws {
        while !Task.isCancelled {
            var counts: [String: Int]?
            if machine.withLock({ $0.sendsRecordCounts && $0.peer != nil }) { counts = await recordCounts.counts(database, now: now()) }
            let ready = machine.withLock { $0.step(.tick(allowed: directory.allowedNames, now: now(), recordCounts: counts)) }
            let reads = ready.store.contains { if case .readLog = $0 { return true } else { return false } }
            try await execute(ready, machine, outbound)
            if !reads {
                await news.wait(upTo: .milliseconds(25))
                try Task.checkCancellation()
            }
        }
    }

    /// Does what the machine asked: frames out, logs, status, then its commands in order,
    /// each answer fed back; then the close.
    private func execute(_ first: PublisherMachine.Ready, _ machine: Locked<PublisherMachine>, _ outbound: PeerSocket) async throws {
        var ready = first
        var queue: [PublisherMachine.StoreCommand] = []
        while true {
            for frame in ready.frames {
                if case .message(.batch(let from, let through, let entries, let newest, let clock)) = frame, !entries.isEmpty {
                    // The log read decoded entries to their headers only: a batch goes out as
                    // the stored bytes, or (part of a read) with its entries read whole.
                    guard let raw = lastRead.withLock({ $0 }) else {
                        throw SkeinError.internal("a batch without the log read it came from")
                    }
                    let sent: Int
                    if raw.are(entries) {
                        let bytes = ReplicationFrame.batchBytes(from: from, through: through, newest: newest, clock: clock, entries: raw.bytes)
                        try await FrameIO.send(bytes: bytes, outbound)
                        sent = bytes.count
                    } else {
                        guard let whole = raw.whole(entries) else {
                            throw SkeinError.internal("batch entries \(from)...\(through) are not in the last log read")
                        }
                        sent = try await FrameIO.send(.message(.batch(from: from, through: through, entries: whole, newest: newest, clock: clock)), outbound)
                    }
                    PublisherMetrics.sent(peer: machine.withLock { $0.peer }, database: database, bytes: sent, entries: entries, nowMillis: now())
                } else if case .message(.copyRows(let table, let rows, let last, let oversized)) = frame {
                    // The export decoded rows to their fields only: the page goes out as exported.
                    guard let raw = lastPage.withLock({ $0 }), raw.are(table, rows) else {
                        throw SkeinError.internal("copy rows of \(table) without the export they came from")
                    }
                    let bytes = ReplicationFrame.copyRowsBytes(table: table, last: last, oversized: oversized, rows: raw.bytes)
                    try await FrameIO.send(bytes: bytes, outbound)
                    PublisherMetrics.sent(peer: machine.withLock { $0.peer }, database: database, bytes: bytes.count, entries: [], nowMillis: now())
                } else {
                    try await FrameIO.send(frame, outbound)
                    if case .message(.batch) = frame { PublisherMetrics.sentEmpty(peer: machine.withLock { $0.peer }, database: database) }
                }
            }
            for event in ready.logs { logger.log(event, metadata: event.message == "peer subscribed" ? ["remote": .string(remoteAddress)] : [:]) }
            publishStatus(machine)
            if let close = ready.close {
                // Closed here, not by the caller: the frame loop may be waiting on the socket
                // while the pump decided to end the connection. A refusal is logged first.
                if close.refused {
                    refused(close.reason, machine)
                    await outbound.close(policyViolation: String(close.reason.prefix(120)))
                } else {
                    await outbound.close()
                }
                throw Closed(description: close.reason, refused: close.refused)
            }
            queue += ready.store
            guard !queue.isEmpty else { return }
            let result = try await run(queue.removeFirst(), log: machine.withLock { $0.announcedLog })
            ready = machine.withLock { $0.step(.stored(result, now: now())) }
        }
    }

    /// `log`: the log identity the connection announced (the commit feed answers only for it).
    private func run(_ command: PublisherMachine.StoreCommand, log: String?) async throws -> PublisherMachine.StoreResult {
        let db: JSON = .string(database)
        switch command {
        case .logIdentity:
            do {
                let r = try await auditd.call(op: "audit_stream", body: ["database": db, "from": 1, "max": 1, "wait_ms": 0])
                guard let log = r["log_id"]?.stringValue else { throw JSON.MissingField(field: "log_id", reply: r.text) }
                return .logIdentity(log)
            } catch {
                if Self.isNotFound(error) { return .logIdentity(nil) }
                throw error
            }
        case .logBounds(let from):
            do {
                let r = try await auditd.call(op: "audit_stream", body: ["database": db, "from": JSON(from), "max": 1, "wait_ms": 0])
                return .bounds(oldest: try r.requiredSequence("oldest"), newest: try r.requiredSequence("newest"))
            } catch {
                if Self.isNotFound(error) { return .bounds(oldest: 0, newest: nil) }  // no such database here yet
                throw error
            }
        case .readLog(let from, let origins, let max, let maxBytes):
            var waited = false
            if let recent, let log {
                switch await readRecent(recent, log: log, from: from, origins: origins, max: max, maxBytes: maxBytes) {
                case .served(let read, let raw):
                    lastRead.withLock { $0 = raw }
                    return .log(read)
                case .upToDate: waited = true
                case .notHeld: break
                }
                recent.readThroughAuditd()
            }
            do {
                // After a wait on the feed: a look at the log itself, so a commit the feed
                // dropped is found within a wait.
                let body: JSON = [
                    "database": db, "from": JSON(from), "max": JSON(max), "wait_ms": JSON(waited ? 0 : Self.waitMillis),
                    "origins": JSON(origins), "max_bytes": JSON(maxBytes), "previous": false,
                ]
                let reply = try await auditd.call(RPCRequest(header: ["op": "audit_stream"], body: body.serialized()),
                                                  timeoutMillis: config.timeoutMillis + Self.waitMillis)
                // Entries down to their headers only: what the machine decides on. Their
                // bytes go out as they are (`execute`), or are read whole when needed.
                if reply.status >= 400 { _ = try reply.result() }  // throws the error it carries
                let r = try JSON.parse(reply.body, buildingDepth: FrameIO.entryHeaderDepth)
                guard let log = r["log_id"]?.stringValue else { throw JSON.MissingField(field: "log_id", reply: r.text) }
                let listed = r["entries"]?.arrayValue ?? []
                let entries = listed.compactMap(AuditEntry.init(json:))
                guard entries.count == listed.count, let range = JSON.topLevelValueRange(of: "entries", in: reply.body) ?? (listed.isEmpty ? 0..<0 : nil) else {
                    throw JSON.MissingField(field: "entries", reply: String(decoding: reply.body.prefix(300), as: UTF8.self))
                }
                lastRead.withLock { $0 = ReplicationFrame.RawEntries(sequences: entries.map(\.sequence), bytes: reply.body[range]) }
                let oldest = try r.requiredSequence("oldest")
                oldestRetained.withLock { $0 = oldest }
                return .log(.init(entries: entries, next: try r.requiredSequence("next"),
                                  oldest: oldest, newest: try r.requiredSequence("newest"),
                                  pruned: r["pruned"]?.boolValue == true, log: log, clock: try r.optionalVersion("clock")))
            } catch {
                if !Self.isNotFound(error) { logger.warning("cannot read the audit log", metadata: ["database": .string(database), "error": .string("\(error)")]) }
                try await Task.sleep(for: .seconds(1))
                return .log(nil)
            }
        case .hold(let peer, let from):
            // Best effort: a missed refresh only shortens what auditd keeps for the peer.
            _ = try? await auditd.call(op: "audit_hold", body: ["database": db, "peer": .string(peer), "from": JSON(from)])
            return .done
        case .copyTables:
            return try await copyTables()
        case .exportPage(let table, let after, let since):
            var body: [String: JSON] = ["database": db, "table": .string(table), "limit": JSON(Self.copyPageRows),
                                        "max_bytes": JSON(Self.copyPageBytes), "max_row_bytes": JSON(Self.copyMaxRowBytes)]
            if let after { body["after"] = after }
            if let since { body["since"] = JSON(since) }
            do {
                let reply = try await store.call(RPCRequest(header: ["op": "replication_export"], body: JSON.object(body).serialized()))
                if reply.status >= 400 { _ = try reply.result() }  // throws the error it carries
                // Rows down to their fields (id, version, origin): their records stay bytes.
                let page = try JSON.parse(reply.body, buildingDepth: FrameIO.copyRowDepth)
                let rows = page["rows"]?.arrayValue ?? []
                guard let range = JSON.topLevelValueRange(of: "rows", in: reply.body) else {
                    throw JSON.MissingField(field: "rows", reply: String(decoding: reply.body.prefix(300), as: UTF8.self))
                }
                lastPage.withLock { $0 = ReplicationFrame.RawRows(table: table, count: rows.count, bytes: reply.body[range]) }
                return .page(table: table, rows: rows, last: page["last"]?.nonNull, oversized: page["oversized"]?.arrayValue ?? [])
            } catch {
                // Dropped since it was listed: an empty table to the peer.
                if Self.isNotFound(error) {
                    lastPage.withLock { $0 = ReplicationFrame.RawRows(table: table, count: 0, bytes: Array("[]".utf8)[...]) }
                    return .page(table: table, rows: [], last: nil, oversized: [])
                }
                throw error
            }
        }
    }

    /// A log read answered from the commit feed: at once when it holds entries from `from`;
    /// when the peer has everything it holds, after waiting (up to `waitMillis`) for a commit
    /// with entries for it. `.upToDate` after the wait, `.notHeld` when the feed cannot answer.
    /// Only for the log the connection announced: after the database was dropped and made
    /// again, what the feed holds of the old log is not what this peer streams.
    ///
    /// A wake-up with nothing new (news of a commit whose entries the last read already
    /// took, kept by `Wakeup` until this wait) waits on for the rest of `waitMillis`: before,
    /// it ended the read with a look at the log through auditd (a round trip, a log read
    /// and a parse); on a 3-node cluster at 10,000 records/s that halved auditd's reads
    /// (~200 → ~100 per node in 20 s; those left are the idle databases' waits). The look
    /// still comes once a whole wait passed without news, so a commit the feed dropped is
    /// found within one wait.
    ///
    /// When the entries new up to the newest are all of other origins (a peer's writes
    /// applied here: the peer streams them to the others itself), the read waits on for
    /// entries of ours, at most `othersDelayMillis`: the peer's cursor then passes those
    /// entries with the next batch of ours, or in an empty batch that late, instead of one
    /// empty batch (and its ack) per commit. The feed wakes this reader only for commits
    /// with entries it wants.
    private func readRecent(_ recent: RecentLogs, log: String, from: UInt64, origins: [String], max: Int, maxBytes: Int) async -> RecentLog.Read {
        let wanted = Set(origins), oldest = oldestRetained.withLock { $0 }
        recent.wants(database, feedNews, origins: wanted)
        let read = { recent.read(database, log: log, from: from, origins: wanted, max: max, maxBytes: maxBytes, oldest: oldest) }
        var result = read()
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(Self.waitMillis))
        var othersDue: ContinuousClock.Instant?
        while !Task.isCancelled {
            var until = deadline
            switch result {
            case .upToDate: break
            case .served(let r, _) where r.entries.isEmpty && r.next > r.newest:
                // (A read that stopped short of the newest entry goes on at once: a peer far
                // behind passes a long run of other origins' entries at the read's pace.)
                let due = othersDue ?? clock.now.advanced(by: .milliseconds(Self.othersDelayMillis))
                othersDue = due
                until = Swift.min(deadline, due)
            default: return result
            }
            let left = clock.now.duration(to: until)
            guard left > .zero else { break }
            await feedNews.wait(upTo: left)
            result = read()
        }
        return result
    }

    /// Our last sequence + 1, read before listing the tables, so whatever is written while
    /// the peer copies is streamed to it afterwards (re-applying is harmless under
    /// last-write-wins); for `system`, the databases too.
    private func copyTables() async throws -> PublisherMachine.StoreResult {
        var resumeFrom: UInt64 = 1
        do {
            let r = try await auditd.call(op: "audit_stream", body: ["database": .string(database), "from": 1, "max": 1, "wait_ms": 0])
            resumeFrom = try r.requiredSequence("newest") + 1
        } catch {
            if !Self.isNotFound(error) { throw error }  // no such database here yet: nothing to copy
        }
        var tables: [JSON] = []
        do {
            let described = try await store.call(op: "describe_database", body: ["database": .string(database)])
            // A table with `audit: false` is listed (created on the copying node) but exports
            // no rows: its records stay on their node (TableSchema.audit).
            for (name, d) in (described.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
                let described = d["attributes"]?.arrayValue ?? []
                // A table with declared indexes goes as Harper's attribute objects, so the
                // copy indexes the same attributes; a dynamic one as names.
                let attributes: [JSON] = d["schema_defined"]?.boolValue == true
                    ? described.compactMap { a in
                        a["attribute"].map { ["name": $0, "indexed": a["indexed"] ?? false] }
                    }
                    : described.compactMap { ($0["attribute"]?.stringValue ?? $0.stringValue).map(JSON.string) }
                // record_count: the subscriber's copy progress (rows of rows) and its ETA.
                tables.append(["database": .string(database), "name": .string(name),
                               "primary_key": d["primary_key"] ?? d["hash_attribute"] ?? "id", "attributes": .array(attributes),
                               "record_count": d["audit"] == false ? 0 : d["record_count"] ?? .null, "expiration": d["expiration"] ?? .null,
                               "audit": d["audit"] ?? .null])
            }
        } catch {
            if !Self.isNotFound(error) { throw error }
        }
        var databases: [String]? = nil
        if database == "system" { databases = (try await store.call(op: "database_list", body: [:]).arrayValue ?? []).compactMap(\.stringValue) }
        return .tables(resumeFrom: resumeFrom, tables: tables, databases: databases)
    }

    static func isNotFound(_ error: any Error) -> Bool { (error as? SkeinError)?.status == 404 }

    private func publishStatus(_ machine: Locked<PublisherMachine>) {
        let (peer, s) = machine.withLock { ($0.peer, $0.status) }
        guard let peer else { return }
        if let frontier = s.peerFrontier { pruner.reported(peer: peer, database: database, frontier) }
        status.update(peer: peer, database: database) {
            $0.publishing = s.publishing
            if let lag = s.lagEntries { $0.lagEntries = lag }
            if let sent = s.sendingMessage { $0.sendingMessage = sent }
            $0.peerFrontier = s.peerFrontier
        }
    }
}
