import Foundation
import Logging
import SkeinCore
import SkeinLMDB
import SkeinService
import SkeinStorage

/// The one thread that writes. Requests that arrive while a transaction is being committed
/// wait in the queue and then share the next transaction (group commit): one fsync for
/// many writes. Each request runs in its own nested transaction, so a failing request
/// leaves no trace while the others in the group commit. Nobody hears "ok" before the
/// group's commit (and its fsync) returned.
final class GroupCommitWriter: @unchecked Sendable {
    /// A write against one database, run inside the group's transaction.
    struct Job {
        enum Kind {
            case write(database: String, createDatabase: Bool, (DatabaseEnvironment, LMDBTransaction, WriteContext) throws -> JSON)
            /// Runs alone, outside any open transaction (create/drop database).
            /// Runs alone, after every open group committed (creating or dropping a whole
            /// database); gets a write context for anything it logs.
            case control((WriteContext) throws -> JSON)
        }
        let kind: Kind
        let user: String?
        let respond: @Sendable (RPCReply) -> Void
        /// When the caller stops waiting (ms since the epoch): a write not started by then
        /// is not started at all (its caller was told "outcome unknown").
        var deadline: UInt64? = nil
        /// The caller's idempotency key: a retry of a committed write gets its result.
        var idempotency: IdempotencyKeys.Key? = nil
        /// The request's size in bytes, for `GroupBound`.
        var bytes = 0
        /// A record write (a client's or a peer's): it waits while its database's index
        /// backlog is at the limit (`IndexBacklogGate`).
        var waitsForIndexes = false
        /// When it was queued (`DispatchTime` uptime), for the gate's longest wait.
        var queuedNanos: UInt64 = 0
    }

    let registry: DatabaseRegistry
    let config: NodeConfig
    let logger: Logger
    let publisher: NoticePublisher?
    /// Each commit's audit entries, for caught-up replication publishers (`CommitFeed`).
    let feed: CommitFeed.Publisher?
    private var clock: HybridLogicalClock
    private let lock = NSLock()
    private let wake = NSCondition()
    private var queue: [Job] = []
    private var stopping = false
    /// The loop ended: nothing is taken any more.
    private var finished = false
    let bound = GroupBound()
    /// Record writes wait while their database's index backlog is at the limit. Used on
    /// the writer thread only (taking groups, and noting each commit's backlog).
    private var gate: IndexBacklogGate
    private var gateLog = LogRateLimit(burst: 5, intervalMillis: 60_000)
    private let stopped = DispatchSemaphore(value: 0)
    /// Called after each commit that wrote, with the largest index backlog among the
    /// databases it wrote (the index worker's nudge).
    var afterWrite: (@Sendable (_ backlog: Int) -> Void)?
    /// Largest number of jobs taken into one transaction, and counters for /metrics-like status.
    private(set) var stats = Stats()
    /// Recorded once per group, on the writer thread.
    private let metrics = CommitMetrics()

    struct Stats {
        var commits = 0
        var jobs = 0
        var largestGroup = 0
    }

    init(registry: DatabaseRegistry, config: NodeConfig, clock: HybridLogicalClock, publisher: NoticePublisher?, feed: CommitFeed.Publisher? = nil,
         logger: Logger) {
        self.registry = registry
        self.config = config
        self.clock = clock
        self.publisher = publisher
        self.feed = feed
        self.logger = logger
        gate = IndexBacklogGate(limit: config.indexBacklogLimit)
    }

    func start() {
        let t = Thread { [self] in
            ThreadName.set("writer")
            loop()
        }
        t.name = "writer"
        t.start()
    }

    /// Advances the clock past a version received from a peer (an applied entry, a copied
    /// row), so local writes that follow are newer (HLC). A version further ahead of local
    /// time than `replication.maxClockSkew` is refused (409) and not adopted: one peer with
    /// a clock a day ahead must not drag every node's clock along. Only from a job's body:
    /// it runs on the writer thread, which owns the clock.
    func observe(_ version: HLCTimestamp) throws {
        let now = config.wallClock.nowMillis()
        if let ahead = HybridLogicalClock.skew(of: version.millis, now: now, limit: config.maxClockSkewMillis) {
            throw SkeinError.conflict("clock skew: a version \(ahead) ms ahead of this node's clock (replication.maxClockSkew \(config.maxClockSkewMillis) ms)")
        }
        clock.receive(version, now: now)
    }

    /// Queues a job. While the writer drains at a stop it still takes jobs (the follow-up
    /// of a replicated create or drop of a database, submitted when its apply commits:
    /// refusing it would lose the change with the cursor already moved, review F28); the
    /// store stops handing over requests before it stops the writer.
    func submit(_ job: Job) {
        var job = job
        job.queuedNanos = DispatchTime.now().uptimeNanoseconds
        wake.lock()
        if finished {
            wake.unlock()
            job.respond(RPCReply(error: .unavailable("store is shutting down")))
            return
        }
        queue.append(job)
        wake.signal()
        wake.unlock()
    }

    /// Runs `body` as a write job on `env` (in the next group) and waits for its commit: for
    /// the store's own background work (index catch-ups, expiry). Nil when `env` was replaced
    /// meanwhile (a database dropped and created again), so the body did not run.
    func runAndWait<T>(on env: DatabaseEnvironment, _ what: @autoclosure () -> String,
                       _ body: @escaping (LMDBTransaction) throws -> T) throws -> T? {
        let finished = DispatchSemaphore(value: 0)
        let result = Locked<T?>(nil)
        nonisolated(unsafe) var reply: RPCReply? = nil
        submit(.init(kind: .write(database: env.name, createDatabase: false) { current, txn, _ in
            guard current === env else { return ["skipped": true] }
            let value = try body(txn)
            result.withLock { $0 = value }
            return ["done": true]
        }, user: nil, respond: { r in
            reply = r
            finished.signal()
        }))
        finished.wait()
        if let reply, reply.status >= 400 {
            throw SkeinError.internal("\(what()): \(String(decoding: reply.body, as: UTF8.self))")
        }
        return result.withLock { $0 }
    }

    /// Finishes every queued job, then stops.
    func stop() {
        wake.lock()
        stopping = true
        wake.signal()
        wake.unlock()
        stopped.wait()
    }

    func statsSnapshot() -> Stats {
        wake.lock()
        defer { wake.unlock() }
        return stats
    }

    private func loop() {
        while true {
            wake.lock()
            var batch: [Job] = []
            while batch.isEmpty {
                if queue.isEmpty {
                    if stopping { break }
                    wake.wait()
                    continue
                }
                // At a stop nothing waits: every queued job is finished.
                if gate.held.isEmpty || stopping {
                    batch = bound.take(from: &queue) { $0.bytes }
                } else {
                    let now = (millis: ServiceMain.nowMillis(), nanos: DispatchTime.now().uptimeNanoseconds)
                    batch = bound.take(from: &queue, bytes: { $0.bytes }, waits: { self.waits($0, now: now) })
                    // Only writes waiting for indexes: look again soon (the catch-up's
                    // settling job, when it comes, wakes the writer sooner).
                    if batch.isEmpty { _ = wake.wait(until: Date(timeIntervalSinceNow: 0.05)) }
                }
            }
            let done = stopping && batch.isEmpty
            if done { finished = true }
            wake.unlock()
            if done { break }
            run(batch)
        }
        stopped.signal()
    }

    /// Whether `job` stays queued now: a record write to a database whose index backlog is
    /// at the limit, for no longer than the gate lets it wait.
    private func waits(_ job: Job, now: (millis: UInt64, nanos: UInt64)) -> Bool {
        guard job.waitsForIndexes, case .write(let database, _, _) = job.kind else { return false }
        let waited = now.nanos >= job.queuedNanos ? (now.nanos - job.queuedNanos) / 1_000_000 : 0
        return gate.holds(database, waitedMillis: waited, untilDeadline: job.deadline.map { $0 > now.millis ? $0 - now.millis : 0 })
    }

    /// Notes a database's index backlog as of a commit; says so when its writes start or
    /// stop waiting for the index worker.
    private func noteBacklog(_ database: String, _ count: Int) {
        guard let change = gate.record(database, backlog: count), let limit = gate.limit else { return }
        if change { metrics.heldForIndexes() }
        guard let unwritten = gateLog.admit(now: ServiceMain.nowMillis()) else { return }
        var metadata: Logger.Metadata = ["database": .string(database), "backlog": .stringConvertible(count), "limit": .stringConvertible(limit)]
        if unwritten > 0 { metadata["lines_not_written"] = .stringConvertible(unwritten) }
        logger.notice(change ? "record writes wait for the index worker (storage.indexBacklogLimit)" : "record writes go ahead: the indexes caught up",
                      metadata: metadata)
    }

    /// An open group transaction on one database and the replies waiting for its commit.
    private struct OpenGroup {
        let env: DatabaseEnvironment
        let txn: LMDBTransaction
        var replies: [(respond: @Sendable (RPCReply) -> Void, reply: RPCReply)] = []
        var wrote = false
        /// The versions of the writes it holds (ms): their commit ages once it committed.
        var versions: [UInt64] = []
    }

    private func run(_ batch: [Job]) {
        let started = DispatchTime.now().uptimeNanoseconds
        let committedBefore = stats.commits
        var groups: [String: OpenGroup] = [:]
        var order: [String] = []
        for job in batch {
            switch job.kind {
            case .control(let body):
                commit(&groups, order)
                groups.removeAll()
                order.removeAll()
                // A database created or dropped: a new one of a name starts with its own backlog.
                gate.forgetAll()
                do {
                    let context = WriteContext(version: clock.tick(now: config.wallClock.nowMillis()), origin: config.nodeName, user: job.user,
                                               auditEnabled: config.auditLog)
                    job.respond(RPCReply(json: try body(context)))
                } catch {
                    job.respond(reply(for: error))
                }
            case .write(let database, let createDatabase, let body):
                do {
                    if groups[database] == nil {
                        let env: DatabaseEnvironment
                        if createDatabase {
                            env = try registry.create(database).0
                        } else {
                            guard let e = try registry.database(database) else {
                                throw SkeinError.notFound("database '\(database)' does not exist")
                            }
                            env = e
                        }
                        groups[database] = OpenGroup(env: env, txn: try env.lmdb.beginWrite())
                        if feed != nil { env.tapAppends() }
                        order.append(database)
                    }
                    let group = groups[database]!
                    if let deadline = job.deadline, ServiceMain.nowMillis() >= deadline {
                        job.respond(RPCReply(error: .unavailable("not written: the caller's deadline passed before the write started")))
                        continue
                    }
                    let context = WriteContext(
                        version: clock.tick(now: config.wallClock.nowMillis()), origin: config.nodeName, user: job.user,
                        auditEnabled: config.auditLog)
                    let child = try group.txn.child()
                    let appended = group.env.appendedMark()
                    do {
                        let now = ServiceMain.nowMillis()
                        if let key = job.idempotency {
                            switch try IdempotencyKeys.earlier(child, key, now: now) {
                            case .result(let earlier):
                                // The first attempt committed: its answer, nothing written again.
                                child.abort()
                                groups[database]!.replies.append((job.respond, RPCReply(status: 200, body: earlier)))
                                continue
                            case .otherRequest:
                                throw SkeinError.unprocessable("Idempotency-Key '\(key.key)' was used for a different request")
                            case .none:
                                break
                            }
                        }
                        let reply = RPCReply(json: try body(group.env, child, context))
                        if let key = job.idempotency {
                            try IdempotencyKeys.remember(child, key, reply: reply.body, now: now, windowMillis: config.idempotencyWindowMillis)
                        }
                        try child.commit()
                        groups[database]!.replies.append((job.respond, reply))
                        groups[database]!.wrote = true
                        groups[database]!.versions.append(context.version.millis)
                    } catch {
                        child.abort()
                        group.env.rewindAppended(to: appended)
                        groups[database]!.replies.append((job.respond, reply(for: error)))
                    }
                } catch {
                    job.respond(reply(for: error))
                }
            }
        }
        commit(&groups, order)
        stats.jobs += batch.count
        stats.largestGroup = max(stats.largestGroup, batch.count)
        metrics.group(transactions: stats.commits - committedBefore, jobs: batch.count, startedNanos: started)
    }

    private func commit(_ groups: inout [String: OpenGroup], _ order: [String]) {
        var largestBacklog = 0
        defer { if order.contains(where: { groups[$0]?.wrote == true }) { afterWrite?(largestBacklog) } }
        for name in order {
            guard let group = groups[name] else { continue }
            do {
                // The clock's high-water mark commits with the group: after a restart the
                // clock starts past every version handed out or observed.
                if group.wrote { try group.env.setClockHighWater(group.txn, clock.last) }
                // Taken before the commit: whatever happens next, the tap is closed.
                let appended = group.env.takeAppended()
                // For the gate only: a failed read of it must not fail the group.
                let backlog = group.wrote && group.env.indexes != nil ? try? group.env.indexBacklogCount(group.txn) : nil
                try group.txn.commit()
                stats.commits += 1
                if let backlog {
                    noteBacklog(name, backlog)
                    largestBacklog = max(largestBacklog, backlog)
                }
                if group.wrote, let feed, let appended, appended.count > 0 {
                    feed.publish(.init(database: name, log: group.env.logID, from: appended.first, clock: clock.last.rawValue,
                                       entries: appended.entries))
                }
                for (respond, reply) in group.replies { respond(reply) }
                metrics.committed(versions: group.versions, nowMillis: config.wallClock.nowMillis())
                if group.wrote, let publisher {
                    let seq = appended?.last ?? (try? group.env.lmdb.read { try group.env.lastSequence($0) }) ?? 0
                    publisher.publish(database: name, notice: ["database": .string(name), "seq": JSON(seq)])
                }
            } catch {
                logger.error("commit failed", metadata: ["database": .string(name), "error": .string("\(error)")])
                let failure = reply(for: error)
                for (respond, _) in group.replies { respond(failure) }
            }
        }
    }

    func reply(for error: any Error) -> RPCReply {
        if let e = error as? SkeinError { return RPCReply(error: e) }
        if let e = error as? LMDBError {
            if e.isMapFull {
                logger.error("database full: raise storage.mapSize", metadata: ["error": .string("\(e)")])
                return RPCReply(status: 507, json: SkeinError(status: 507, "database is full (storage.mapSize)").body)
            }
            logger.error("storage error", metadata: ["error": .string("\(e)")])
            return RPCReply(error: .internal("storage error: \(e)"))
        }
        logger.error("write failed", metadata: ["error": .string("\(error)")])
        return RPCReply(error: .internal("\(error)"))
    }
}
