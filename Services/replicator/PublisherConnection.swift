import Foundation
import Logging
import SkeinCore
import SkeinPeerNet
import SkeinReplication
import SkeinService

/// One inbound connection: a peer subscribed to this node's log of one database. Checks
/// the peer's identity at `hello`, then streams batches read from auditd's `audit_stream`
/// through a `PublisherSession` (back-pressure, go-back-N resends). A peer told `pruned`
/// may ask for a full copy on the same connection (`copy_begin`, then `copy_page` per page).
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
    let status: ReplicationStatus
    let logger: Logger

    static let batchSize = 500
    /// Stored bytes per batch at most (entries of big inserts): well inside the 64 MB
    /// message limit, so a batch always fits.
    static let batchBytes = 16 << 20
    static let waitMillis = 1000
    static let holdRefreshMillis: UInt64 = 5000
    /// Rows per `copy_rows` page (at most two in flight: the subscriber asks for each), and
    /// stored bytes per page, so a page of big rows still fits the 64 MB message limit.
    static let copyPageRows = 1000
    static let copyPageBytes = 16 << 20
    /// A stored record bigger than this cannot travel in any message: named, not sent.
    static let copyMaxRowBytes = 48 << 20

    func run(socket outbound: PeerSocket) async {
        let peer: String
        let announced: String?
        do {
            guard case .hello(let name, _, _)? = try await FrameIO.next(outbound) else {
                return await refuse("the first frame was not hello", peer: nil, outbound)
            }
            if let problem = PeerIdentity.problem(stated: name, certificateNames: certificateNames, certificateSerial: certificateSerial,
                                                  allowed: directory.allowedNames, revoked: config.revokedSerials) {
                return await refuse(problem, peer: name, outbound)
            }
            peer = name
            // The log's identity: the subscriber keeps it with its cursor, and this connection
            // ends if the log is replaced (the database dropped and created again).
            announced = try await logIdentity()
            try await FrameIO.send(.hello(node: config.nodeName, time: FrameIO.nowMillis(), log: announced), outbound)
        } catch {
            logger.info("inbound replication connection ended before hello", metadata: ["database": .string(database), "error": .string("\(error)")])
            return
        }
        logger.info("peer subscribed", metadata: ["peer": .string(peer), "database": .string(database), "remote": .string(remoteAddress)])
        status.update(peer: peer, database: database) { $0.publishing = true }
        let session = Locked(PublisherSession(maxInFlight: 4, batchSize: Self.batchSize, resendAfterMillis: 5000))
        let copySince = Locked<UInt64?>(nil)
        /// The first entry of our log the peer still needs (auditd keeps it from age pruning).
        let hold = Locked<UInt64?>(nil)
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await pump(session, peer: peer, log: announced, hold: hold, outbound) }
                while let frame = try await FrameIO.next(outbound) {
                    guard case .message(let message) = frame else { throw FrameIO.ProtocolError(description: "hello sent twice") }
                    try await receive(message, session, copySince, hold, peer: peer, outbound)
                }
                group.cancelAll()
            }
        } catch is CancellationError {
        } catch {
            logger.info("inbound replication connection closed", metadata: ["peer": .string(peer), "database": .string(database), "error": .string("\(error)")])
        }
        status.update(peer: peer, database: database) { $0.publishing = false }
        logger.info("peer unsubscribed", metadata: ["peer": .string(peer), "database": .string(database)])
    }

    private func refuse(_ reason: String, peer: String?, _ outbound: PeerSocket) async {
        status.refusal()
        logger.warning("refused replication connection", metadata: [
            "reason": .string(reason), "stated_node": .string(peer ?? "-"), "database": .string(database),
            "certificate_names": .string(certificateNames.sorted().joined(separator: ",")),
        ])
        await outbound.close(policyViolation: String(reason.prefix(120)))
    }

    /// A subscriber message: `subscribe` (re)starts the stream, `ack` frees the window,
    /// `copy_begin`/`copy_page` serve a full copy.
    private func receive(_ message: ReplicationMessage, _ session: Locked<PublisherSession>, _ copySince: Locked<UInt64?>, _ hold: Locked<UInt64?>,
                         peer: String, _ outbound: PeerSocket) async throws {
        switch message {
        case .copyBegin(let startTime):
            copySince.withLock { $0 = startTime }
            let tables = try await copyTables(peer: peer)
            if case .copyTables(let resumeFrom, _, _) = tables {
                // The copy streams from here afterwards: keep it however long the copy takes.
                hold.withLock { $0 = resumeFrom }
                try await holdLog(peer: peer, from: resumeFrom)
            }
            return try await FrameIO.send(.message(tables), outbound)
        case .copyPage(let table, let after):
            return try await FrameIO.send(.message(try await copyRows(table: table, after: after, since: copySince.withLock { $0 })), outbound)
        default:
            break
        }
        var bounds: (oldest: UInt64, newest: UInt64?) = (0, nil)
        if case .subscribe(let from, _, _) = message { bounds = try await logBounds(from: from) }
        let reply = session.withLock { s -> ReplicationMessage? in
            let reply = s.receive(message, now: FrameIO.nowMillis(), oldestRetained: bounds.oldest, newest: bounds.newest)
            if s.subscribed { hold.withLock { $0 = s.acknowledged + 1 } }
            return reply
        }
        if let reply {
            if case .pruned(let oldest, let reason) = reply { logPruned(peer: peer, oldest: oldest, reason: reason) }
            try await FrameIO.send(.message(reply), outbound)
        }
    }

    /// The first sequence still in our log and the last one (0 and nil: no such database here yet).
    private func logBounds(from: UInt64) async throws -> (oldest: UInt64, newest: UInt64?) {
        do {
            let r = try await auditd.call(op: "audit_stream", body: ["database": .string(database), "from": JSON(from), "max": 1, "wait_ms": 0])
            return (try r.requiredSequence("oldest"), try r.requiredSequence("newest"))
        } catch {
            if Self.isNotFound(error) { return (0, nil) }  // no such database here yet
            throw error
        }
    }

    /// Tells auditd that `peer` still needs our log from `from` (refreshed every few
    /// seconds; auditd forgets a hold not refreshed for 30 s).
    private func holdLog(peer: String, from: UInt64) async throws {
        _ = try await auditd.call(op: "audit_hold", body: ["database": .string(database), "peer": .string(peer), "from": JSON(from)])
    }

    /// The identity of this database's log (nil: no such database here yet).
    private func logIdentity() async throws -> String? {
        do {
            let r = try await auditd.call(op: "audit_stream", body: ["database": .string(database), "from": 1, "max": 1, "wait_ms": 0])
            guard let log = r["log_id"]?.stringValue else { throw FrameIO.ProtocolError(description: "auditd's audit_stream reply has no log_id") }
            return log
        } catch {
            if Self.isNotFound(error) { return nil }
            throw error
        }
    }

    /// `copy_tables`: our last sequence + 1, read before listing the tables, so whatever is
    /// written while the peer copies is streamed to it afterwards (re-applying is harmless
    /// under last-write-wins).
    private func copyTables(peer: String) async throws -> ReplicationMessage {
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
            for (name, d) in (described.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
                let attributes = (d["attributes"]?.arrayValue ?? []).compactMap { $0["attribute"]?.stringValue ?? $0.stringValue }
                tables.append(["database": .string(database), "name": .string(name),
                               "primary_key": d["primary_key"] ?? d["hash_attribute"] ?? "id", "attributes": JSON(attributes)])
            }
        } catch {
            if !Self.isNotFound(error) { throw error }
        }
        logger.info("full copy requested", metadata: [
            "peer": .string(peer), "database": .string(database), "tables": .string("\(tables.count)"), "resume_from": .string("\(resumeFrom)"),
        ])
        var databases: [String]? = nil
        if database == "system" { databases = (try await store.call(op: "database_list", body: [:]).arrayValue ?? []).compactMap(\.stringValue) }
        return .copyTables(resumeFrom: resumeFrom, tables: tables, databases: databases)
    }

    /// `copy_rows`: one page of `table` in key order (store `replication_export`).
    private func copyRows(table: String, after: JSON?, since: UInt64?) async throws -> ReplicationMessage {
        var body: [String: JSON] = ["database": .string(database), "table": .string(table), "limit": JSON(Self.copyPageRows),
                                    "max_bytes": JSON(Self.copyPageBytes), "max_row_bytes": JSON(Self.copyMaxRowBytes)]
        if let after { body["after"] = after }
        if let since { body["since"] = JSON(since) }
        do {
            let page = try await store.call(op: "replication_export", body: .object(body))
            let last = page["last"].flatMap { $0.isNull ? nil : $0 }
            let oversized = page["oversized"]?.arrayValue ?? []
            if !oversized.isEmpty {
                logger.error("rows too big for a replication message are left out of the full copy", metadata: [
                    "database": .string(database), "table": .string(table), "rows": .string(oversized.map(\.text).joined(separator: ",")),
                ])
            }
            return .copyRows(table: table, rows: page["rows"]?.arrayValue ?? [], last: last, oversized: oversized)
        } catch {
            // Dropped since it was listed: an empty table to the peer.
            if Self.isNotFound(error) { return .copyRows(table: table, rows: [], last: nil) }
            throw error
        }
    }

    static func isNotFound(_ error: any Error) -> Bool { (error as? SkeinError)?.status == 404 }

    private func logPruned(peer: String, oldest: UInt64, reason: String? = nil) {
        logger.info(reason == nil ? "peer's position is older than our retained audit log: it needs a full copy" : "peer needs a full copy", metadata: [
            "peer": .string(peer), "database": .string(database), "oldest_retained": .string("\(oldest)"), "reason": .string(reason ?? "pruned"),
        ])
    }

    /// Sends batches while the session has room, long-polling auditd for new entries.
    private func pump(_ session: Locked<PublisherSession>, peer: String, log announced: String?, hold: Locked<UInt64?>,
                      _ outbound: PeerSocket) async throws {
        var lastMembershipCheck: UInt64 = 0
        var lastHold: UInt64 = 0
        while !Task.isCancelled {
            let now = FrameIO.nowMillis()
            // A node removed from hdb_nodes (remove_node) loses its subscription too, not
            // only its next hello.
            if now >= lastHold + Self.holdRefreshMillis, let from = hold.withLock({ $0 }) {
                lastHold = now
                try? await holdLog(peer: peer, from: from)
            }
            if now >= lastMembershipCheck + 1000 {
                lastMembershipCheck = now
                if !directory.allowedNames.contains(peer) {
                    await refuse("\"\(peer)\" is neither a configured route (replication.routes) nor in hdb_nodes (removed)", peer: peer, outbound)
                    throw CancellationError()
                }
            }
            let (canSend, next, origins) = session.withLock { s in
                s.tick(now: now)
                return (s.canSend, s.next, s.origins)
            }
            guard canSend else {
                try await Task.sleep(for: .milliseconds(25))
                continue
            }
            let reply: JSON
            do {
                reply = try await auditd.call(op: "audit_stream", body: [
                    "database": .string(database), "from": JSON(next), "max": JSON(Self.batchSize), "wait_ms": JSON(Self.waitMillis),
                    "origins": JSON(origins.sorted()), "max_bytes": JSON(Self.batchBytes),
                ], timeoutMillis: config.timeoutMillis + Self.waitMillis)
            } catch {
                if !Self.isNotFound(error) { logger.warning("cannot read the audit log", metadata: ["database": .string(database), "error": .string("\(error)")]) }
                try await Task.sleep(for: .seconds(1))
                continue
            }
            if reply["log_id"]?.stringValue != announced {
                // The database was dropped and created again under this connection: its new
                // log is not the one the peer's cursor points into. Ending the connection
                // makes the peer reconnect, see the new identity and resynchronise.
                logger.warning("this database's log restarted: ending the subscription so the peer resynchronises", metadata: [
                    "peer": .string(peer), "database": .string(database), "log": .string(announced ?? "-"),
                    "new_log": .string(reply["log_id"]?.stringValue ?? "-"),
                ])
                await outbound.close(policyViolation: "log restarted")
                throw CancellationError()
            }
            let newest = try reply.requiredSequence("newest")
            if reply["pruned"]?.boolValue == true {
                let oldest = try reply.requiredSequence("oldest")
                // Stop until the peer subscribes again (after a full copy, later).
                session.withLock { $0.disconnected() }
                logPruned(peer: peer, oldest: oldest)
                try await FrameIO.send(.message(.pruned(oldest: oldest)), outbound)
                continue
            }
            let entries = (reply["entries"]?.arrayValue ?? []).compactMap(AuditEntry.init(json:))
            let (batch, acknowledged) = session.withLock { s -> (ReplicationMessage?, UInt64) in
                // Rewound (resend, re-subscribe) while we read: read again from the new position.
                guard s.next == next else { return (nil, s.acknowledged) }
                let readThrough = (try? reply.requiredSequence("next")).map { $0 - 1 } ?? next - 1
                return (s.nextBatch(log: entries, newest: newest, now: FrameIO.nowMillis(), readThrough: readThrough), s.acknowledged)
            }
            status.update(peer: peer, database: database) { $0.lagEntries = newest > acknowledged ? newest - acknowledged : 0 }
            if let batch {
                try await FrameIO.send(.message(batch), outbound)
                status.update(peer: peer, database: database) { $0.sendingMessage = FrameIO.nowMillis() }
            }
        }
    }
}

/// The identity rule (docs/INTERFACES.md §8): the name a peer states in `hello` must be one
/// its certificate carries (CN or DNS SAN) and a route's hostname or an `hdb_nodes` record's
/// name; a certificate whose serial is in `tls.revokedSerials` is refused whatever it says.
enum PeerIdentity {
    static func problem(stated name: String, certificateNames: Set<String>, certificateSerial: String?,
                        allowed: Set<String>, revoked: Set<String>) -> String? {
        if let certificateSerial, revoked.contains(certificateSerial) {
            return "certificate serial \(certificateSerial) is revoked (tls.revokedSerials)"
        }
        guard certificateNames.contains(name) else {
            return "stated node name \"\(name)\" is not in its certificate (\(certificateNames.sorted().joined(separator: ", ")))"
        }
        guard allowed.contains(name) else {
            return "\"\(name)\" is neither a configured route (replication.routes) nor in hdb_nodes"
        }
        return nil
    }
}
