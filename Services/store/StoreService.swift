import Foundation
import Logging
import SkeinCore
import SkeinLMDB
import SkeinService
import SkeinReplication
import SkeinStorage

/// Routes each request: reads to a concurrent queue, writes to the group-commit writer.
final class StoreService: @unchecked Sendable {
    let config: NodeConfig
    let logger: Logger
    let registry: DatabaseRegistry
    let writer: GroupCommitWriter
    let reads: StoreReads
    let writes: StoreWrites
    let system: SystemTables
    let pages: ResultPages
    let readQueue = DispatchQueue(label: "store.reads", attributes: .concurrent)
    let startedAt = Date()

    init(config: NodeConfig, logger: Logger, registry: DatabaseRegistry, writer: GroupCommitWriter) {
        self.config = config
        self.logger = logger
        self.registry = registry
        self.writer = writer
        reads = StoreReads(registry: registry)
        writes = StoreWrites(registry: registry)
        system = SystemTables(registry: registry)
        pages = ResultPages(registry: registry)
    }

    /// The operations whose records `IncomingWrite` reads.
    static let recordWrites: Set<String> = ["insert", "update", "upsert"]
    /// The operations that add to a database's index backlog: they wait while it is at the
    /// limit (`IndexBacklogGate`). A peer's applies too: a node that cannot index as fast as
    /// it receives falls behind in replication (its lag shows it) rather than in its indexes.
    static let indexedWrites: Set<String> = ["insert", "update", "upsert", "delete", "replication_apply", "replication_import"]

    /// A write request of at most this many bytes is read and queued to the writer on the
    /// request socket's thread (`handle`).
    static let inlineWriteBytes = 256 << 10

    func handle(_ request: RPCRequest, respond: @escaping @Sendable (RPCReply) -> Void) {
        // A point read is answered at once, on the request socket's thread (`isPointRead`),
        // and a write of up to 256 KiB is read and handed to the writer there: reading a
        // client's batch of 100 records or a peer's batch takes well under a millisecond, and
        // through the read queue each write woke one thread more on its way to the writer.
        // Bigger writes (a large import, a copy's pages) are read on the read queue, so the
        // socket never waits long for them.
        if request.isPointRead || (Self.indexedWrites.contains(request.operation) && request.body.count <= Self.inlineWriteBytes) {
            serve(request, respond: respond)
        } else {
            readQueue.async { [self] in serve(request, respond: respond) }
        }
    }

    private func serve(_ request: RPCRequest, respond: @escaping @Sendable (RPCReply) -> Void) {
        do {
            let page = PageRequest(header: request.header)
            if let page, let token = page.continuation {
                respond(try pages.next(token: token, user: request.user, page: page))
                return
            }
            // A peer's batch or copied rows: their records stay the bytes they came in
            // (`ReceivedBatch`, `ReceivedRows`).
            let batch = request.operation == "replication_apply" ? try ReceivedBatch(bytes: request.body) : nil
            let copied = request.operation == "replication_import" ? try ReceivedRows(bytes: request.body) : nil
            // A client's records are read into `RecordMembers`, never into trees.
            let incoming = Self.recordWrites.contains(request.operation) ? try IncomingWrite(bytes: request.body) : nil
            let req = try batch.map { OperationRequest(body: $0.fields) } ?? copied.map { OperationRequest(body: $0.fields) }
                ?? incoming.map { OperationRequest(body: $0.fields) } ?? OperationRequest(bytes: request.body)
            let op = request.operation.isEmpty ? (req.operation ?? "") : request.operation
            if op == "tombstone_prune", try !tombstonesDue(req) {
                // Nothing to drop: no write transaction (no commit, no fsync, no notice).
                respond(RPCReply(json: ["pruned": 0]))
                return
            }
            if var job = try writeJob(op, req, received: batch?.entries, copied: copied?.rows, records: incoming?.records, user: request.user,
                                      respond: respond) {
                job.deadline = request.header["deadline"]?.doubleValue.flatMap { UInt64(exactly: $0.rounded()) }
                job.idempotency = try Self.idempotencyKey(request)
                job.bytes = request.body.count
                job.waitsForIndexes = Self.indexedWrites.contains(op)
                writer.submit(job)
                return
            }
            if let page, StoreReads.pagedOperations.contains(op), let search = try reads.searchPlan(op, req) {
                respond(try pages.first(search, user: request.user, page: page))
                return
            }
            if op == "replication_export" {
                respond(RPCReply(status: 200, body: try export(req).body))
                return
            }
            respond(RPCReply(json: try read(op, req)))
        } catch {
            respond(writer.reply(for: error))
        }
    }

    /// The `Idempotency-Key` the gateway passed on (`idempotency_key`, with `request_hash`
    /// over the client's body as it sent it) and who sent it.
    static func idempotencyKey(_ request: RPCRequest) throws -> IdempotencyKeys.Key? {
        guard let key = request.header["idempotency_key"]?.stringValue else { return nil }
        guard IdempotencyHeader.isValid(key), let hash = request.header["request_hash"]?.stringValue.flatMap({ UInt64($0) }) else {
            throw SkeinError.badRequest(IdempotencyHeader.invalidMessage)
        }
        return IdempotencyKeys.Key(user: request.user ?? "", key: key, requestHash: hash)
    }

    /// Waits for every request handed to `handle` so far to be read or queued to the writer.
    func drain() { readQueue.sync(flags: .barrier) {} }

    /// Whether a `tombstone_prune` would drop anything.
    private func tombstonesDue(_ req: OperationRequest) throws -> Bool {
        guard let env = try registry.database(try req.database()), let text = try req.string("through"), let through = UInt64(text) else {
            return true  // let the write job answer (404, 400)
        }
        return try env.lmdb.read { try env.hasTombstones($0, through: through) }
    }

    private func read(_ op: String, _ req: OperationRequest) throws -> JSON {
        if let result = try reads.handle(op, req) { return result }
        switch op {
        case "get_user":
            return try system.user(try req.requiredString("username")) ?? .null
        case "list_users": return try system.listUsers()
        case "list_roles": return try system.listRoles()
        case "node_list": return try system.listNodes()
        case "token_keys": return try system.tokenKeys()
        case "job_get": return try system.job(try req.requiredString("id"))
        case "jobs_between":
            guard let from = try req.number("from"), let to = try req.number("to") else { throw SkeinError.badRequest("'from' and 'to' (epoch ms) are required") }
            return try system.jobs(from: from, to: to)
        case "database_list": return JSON(registry.names().sorted())
        case "replication_cursor":
            let env = try reads.database(try req.database())
            let peer = try req.requiredString("peer")
            let cursor = try env.lmdb.read { try env.cursor($0, peer: peer) }
            return ["cursor": JSON(cursor.sequence), "log_id": cursor.log.map(JSON.string) ?? .null]
        case "replication_cursors":
            // A database this node does not have yet has no cursors.
            guard let env = try registry.database(try req.database()) else { return ["cursors": [:]] }
            let all = try env.lmdb.read { try env.cursors($0) }
            return ["cursors": .object(all.mapValues { JSON($0.sequence) })]
        case "store_status":
            let s = writer.statsSnapshot()
            return [
                "status": "ok", "node": .string(config.nodeName), "databases": JSON(registry.names()),
                "commits": JSON(s.commits), "writes": JSON(s.jobs), "largest_group": JSON(s.largestGroup),
                "open_result_cursors": JSON(pages.openCount),
                "uptime_seconds": .number(Date().timeIntervalSince(startedAt).rounded()),
            ]
        default:
            throw SkeinError.badRequest("Operation '\(op)' not found")
        }
    }

    /// A page of a full copy, its records as stored (the reply is built from their bytes).
    private func export(_ req: OperationRequest) throws -> DatabaseEnvironment.ExportedPage {
        let env = try reads.database(try req.database())
        let table = try req.table()
        let limit = min(10_000, max(1, try req.int("limit") ?? 1000))
        let after = req.body["after"]?.nonNull
        let since = try req.int("since").map { UInt64(max(0, $0)) }
        let maxBytes = max(1, try req.int("max_bytes") ?? Int.max)
        let maxRowBytes = max(1, try req.int("max_row_bytes") ?? Int.max)
        return try env.lmdb.read {
            try env.exportRows($0, table: table, after: after, limit: limit, sinceMillis: since, maxBytes: maxBytes, maxRowBytes: maxRowBytes)
        }
    }

    /// Writes that come from peers: applied by last-write-wins, with the peer's cursor in the
    /// same transaction (docs/INTERFACES.md §5).
    private func replicationJob(_ op: String, _ req: OperationRequest, received: [AuditEntry]?, copied: [ReceivedRows.Row]?,
                                user: String?, respond: @escaping @Sendable (RPCReply) -> Void) throws -> GroupCommitWriter.Job {
        let database = try req.database()
        let writer = self.writer
        if op == "replication_import" {
            let table = try req.table()
            let writes = try copied.map { ReplicatedWrite.fromCopyRows(table: table, received: $0) }
                ?? DatabaseEnvironment.copiedWrites(table: table, rows: try req.requiredArray("rows"))
            return .init(kind: .write(database: database, createDatabase: true, { env, txn, _ in
                // The clock observes every copied version: a local write that follows wins.
                for w in writes { try writer.observe(w.version.version) }
                return ["imported": JSON(try env.importRows(txn, writes: writes))]
            }), user: user, respond: respond)
        }
        let peer = try req.requiredString("peer")
        let log = try req.string("log_id")
        let restart = try req.bool("restart") ?? false
        guard let through = try req.int("through"), through >= 0 else { throw SkeinError.badRequest("'through' must be a sequence number") }
        var entries: [AuditEntry] = received ?? []
        if received == nil {
            for (i, e) in try req.requiredArray("entries").enumerated() {
                guard let entry = AuditEntry(json: e) else { throw SkeinError.badRequest("entries[\(i)] is not an audit entry") }
                entries.append(entry)
            }
        }
        // A peer's create_database and replicated drop_database (logged in its system
        // database): done here once the entries are applied, in order, as a job of its own,
        // since a database is created or dropped only when no group is open.
        let changes: [(create: Bool, name: String)] = database == DatabaseRegistry.systemDatabase
            ? entries.compactMap { e in
                guard let name = e.details?["database"]?.stringValue, name != DatabaseRegistry.systemDatabase else { return nil }
                if e.operation == "create_database" { return (true, name) }
                if e.operation == "drop_database", e.details?["replicated"]?.boolValue == true { return (false, name) }
                return nil
            }
            : []
        let answer = changes.isEmpty ? respond : databaseChangesAfterApply(changes, peer: peer, user: user, respond: respond)
        if entries.isEmpty && !registry.exists(database) {
            // Only a cursor for a database this node does not have (dropped here meanwhile,
            // or a copy of an empty one): nothing to store, and no reason to create it.
            let reply: JSON = ["applied": 0, "cursor": JSON(through), "log_id": log.map(JSON.string) ?? .null, "duplicate": false]
            return .init(kind: .control({ _ in reply }), user: user, respond: answer)
        }
        return .init(kind: .write(database: database, createDatabase: !entries.isEmpty, { env, txn, _ in
            for e in entries { try writer.observe(e.version) }
            let outcome = try env.applyReplicated(txn, peer: peer, log: log, entries: entries, through: UInt64(through), restart: restart)
            return ["applied": JSON(outcome.applied), "cursor": JSON(outcome.cursor.sequence), "log_id": outcome.cursor.log.map(JSON.string) ?? .null,
                    "duplicate": .bool(outcome.duplicate)]
        }), user: user, respond: answer)
    }

    /// Wraps a reply: once the apply committed, a job of its own creates or drops databases.
    private func databaseChangesAfterApply(_ changes: [(create: Bool, name: String)], peer: String, user: String?,
                                           respond: @escaping @Sendable (RPCReply) -> Void) -> @Sendable (RPCReply) -> Void {
        let registry = self.registry, logger = self.logger, writer = self.writer
        let creates = changes.map(\.create), names = changes.map(\.name)
        return { reply in
            if reply.status < 400 {
                let job = GroupCommitWriter.Job(kind: .control({ _ in
                    for (create, name) in zip(creates, names) {
                        let metadata: Logger.Metadata = ["database": .string(name), "peer": .string(peer)]
                        if create, !registry.exists(name) {
                            _ = try registry.create(name)
                            logger.info("created database (create_database from a peer)", metadata: metadata)
                        } else if !create, registry.exists(name) {
                            try registry.drop(name)
                            logger.info("dropped database (replicated drop_database)", metadata: metadata)
                        }
                    }
                    return [:]
                }), user: user, respond: { _ in })
                writer.submit(job)
            }
            respond(reply)
        }
    }

    private func writeJob(_ op: String, _ req: OperationRequest, received: [AuditEntry]?, copied: [ReceivedRows.Row]?, records: [WriteRecord]?,
                          user: String?, respond: @escaping @Sendable (RPCReply) -> Void) throws -> GroupCommitWriter.Job? {
        if let plan = try writes.plan(op, req, records: records) {
            switch plan {
            case .write(let db, let create, let body):
                return .init(kind: .write(database: db, createDatabase: create, body), user: user, respond: respond)
            case .control(let body):
                return .init(kind: .control(body), user: user, respond: respond)
            }
        }
        if op == "tombstone_prune" {
            // The replicator's horizon (docs/INTERFACES.md §8): tombstones up to it go.
            let database = try req.database()
            guard let text = try req.string("through"), let through = UInt64(text) else {
                throw SkeinError.badRequest("'through' must be a version (an HLC value as decimal text)")
            }
            return .init(kind: .write(database: database, createDatabase: false, { env, txn, _ in
                ["pruned": JSON(try env.pruneTombstones(txn, through: through))]
            }), user: user, respond: respond)
        }
        let system = self.system
        let body: ((DatabaseEnvironment, LMDBTransaction, WriteContext) throws -> JSON)?
        switch op {
        case "add_user": body = { try system.addUser(req, $0, $1, $2) }
        case "alter_user": body = { try system.alterUser(req, $0, $1, $2) }
        case "drop_user": body = { try system.dropUser(req, $0, $1, $2) }
        case "add_role": body = { try system.addRole(req, $0, $1, $2) }
        case "alter_role": body = { try system.alterRole(req, $0, $1, $2) }
        case "drop_role": body = { try system.dropRole(req, $0, $1, $2) }
        case "ensure_admin": body = { try system.ensureAdmin(req, $0, $1, $2) }
        case "node_upsert": body = { try system.upsertNode(req, $0, $1, $2) }
        case "node_remove": body = { try system.removeNode(req, $0, $1, $2) }
        case "ensure_token_key": body = { try system.ensureTokenKey(req, $0, $1, $2) }
        case "set_refresh_token": body = { try system.setRefreshToken(req, $0, $1, $2) }
        case "job_put": body = { try system.putJob(req, $0, $1, $2) }
        case "replication_apply", "replication_import":
            return try replicationJob(op, req, received: received, copied: copied, user: user, respond: respond)
        default: body = nil
        }
        guard let body else { return nil }
        return .init(kind: .write(database: DatabaseRegistry.systemDatabase, createDatabase: false, body), user: user, respond: respond)
    }
}
