import CThread
import Foundation
import Logging
import SkeinCore
import SkeinLMDB
import SkeinService
import SkeinStorage

/// Catches secondary indexes up with the backlog of every database (`IndexBacklog`), on a
/// thread of its own beside the writer: it reads a snapshot, writes the index environment,
/// then has the writer settle the backlog (a small job) and waits for that before the next
/// catch-up of the same database.
///
/// Pace: the more records a catch-up takes, the more of them share each index page it
/// writes (a catch-up of 3k records on a loaded node wrote nearly a page per record and
/// index). So a database is caught up once `threshold` records wait, once its oldest
/// waiting record is `maxAge` old, or when writes paused for an `interval`. Searches stay
/// exact meanwhile, checking waiting records by value.
final class IndexWorker: @unchecked Sendable {
    let registry: DatabaseRegistry
    let writer: GroupCommitWriter
    let logger: Logger
    static let interval: TimeInterval = 0.2
    static let maxAge: TimeInterval = 2
    /// Records waiting that start a catch-up at once: a full catch-up's worth, or fewer
    /// when writes wait for the indexes sooner (`storage.indexBacklogLimit`).
    let threshold: Int
    /// When each database was last caught up (or first seen).
    private var lastCatchUp: [String: Date] = [:]
    /// Per database, where its next catch-up starts (`CatchUpBatch.resumeAfter`; the worker's
    /// thread only). Lost on a restart: catch-ups then start from the first key again.
    private var resume: [String: [UInt8]] = [:]

    private let wake = NSCondition()
    private var nudged = true
    /// A commit left a catch-up's worth waiting: the next look comes at once (a signal
    /// while the worker was busy is not lost).
    private var full = false
    private var stopping = false
    private let stopped = DispatchSemaphore(value: 0)

    init(registry: DatabaseRegistry, writer: GroupCommitWriter, backlogLimit: Int?, logger: Logger) {
        self.registry = registry
        self.writer = writer
        self.logger = logger
        threshold = min(IndexBacklog.catchUpLimit, backlogLimit ?? .max)
    }

    func start() {
        let t = Thread { [self] in
            ThreadName.set("indexer")
            loop()
        }
        t.name = "indexer"
        t.start()
    }

    /// A write committed, leaving `backlog` records waiting in its database. The worker is
    /// woken only when that is a catch-up's worth (`threshold`); otherwise it learns of the
    /// write at its next look (every `interval`). Why: a wake-up per commit (~120 a second
    /// per node at 10,000 records/s) woke a thread on the other CPU to find nothing to do,
    /// ~35 µs of CPU each on the project's virtual machines.
    func nudge(backlog: Int) {
        wake.lock()
        nudged = true
        if backlog >= threshold {
            full = true
            wake.signal()
        }
        wake.unlock()
    }

    func stop() {
        wake.lock()
        stopping = true
        wake.signal()
        wake.unlock()
        stopped.wait()
    }

    private func loop() {
        // Catch-ups yield to the writer and the replicators: a lower CPU priority, and disk
        // I/O after theirs (its commits write thousands of pages).
        if skein_lower_thread_priority(10, 7) != 0 {
            logger.notice("index worker runs at normal priority (setpriority/ioprio_set refused)")
        }
        while true {
            wake.lock()
            if !full { _ = wake.wait(until: Date(timeIntervalSinceNow: Self.interval)) }
            full = false
            let writing = nudged
            nudged = false
            let done = stopping
            wake.unlock()
            if done { break }
            // Only databases already open: opening one here could re-create the files of a
            // database being dropped.
            for name in registry.openedNames() where !isStopping {
                do {
                    guard let env = registry.opened(name) else { continue }
                    let waiting = try env.lmdb.read { try env.indexBacklogCount($0) }
                    let last = lastCatchUp[name] ?? Date()
                    lastCatchUp[name] = last
                    guard waiting >= threshold || !writing || Date().timeIntervalSince(last) >= Self.maxAge else { continue }
                    lastCatchUp[name] = Date()
                    while try catchUp(env), !isStopping {}
                } catch {
                    logger.error("index catch-up failed", metadata: ["database": .string(name), "error": .string("\(error)")])
                }
            }
        }
        stopped.signal()
    }

    private var isStopping: Bool {
        wake.lock()
        defer { wake.unlock() }
        return stopping
    }

    /// One catch-up of `env`; true when it took as many records as one may (more wait).
    private func catchUp(_ env: DatabaseEnvironment) throws -> Bool {
        let started = DispatchTime.now()
        // The snapshot stays open until the catch-up is settled: settling reads from it.
        let snapshot = try env.lmdb.beginRead()
        defer { snapshot.abort() }
        guard let batch = try env.prepareCatchUp(snapshot, after: resume[env.name]) else { return false }
        resume[env.name] = batch.resumeAfter
        let prepared = DispatchTime.now()
        let timings = try env.applyCatchUp(batch)
        let applied = DispatchTime.now()
        // The backlog is settled by the writer, in its transaction of the same environment,
        // a part per job (writes queued meanwhile go between the parts).
        for part in batch.settleParts {
            _ = try writer.runAndWait(on: env, "confirming catch-up \(batch.number)") { txn in
                try env.confirmCatchUp(txn, batch, part: part, snapshot: snapshot)
            }
        }
        let ms = { (t: DispatchTime) in (t.uptimeNanoseconds - started.uptimeNanoseconds) / 1_000_000 }
        logger.debug("index catch-up", metadata: ["database": .string(env.name), "records": .stringConvertible(batch.count),
                                                  "number": .stringConvertible(batch.number), "prepared_ms": .stringConvertible(ms(prepared)),
                                                  "put_ms": .stringConvertible(timings.putNanos / 1_000_000),
                                                  "write_back_ms": .stringConvertible(timings.writeBackNanos / 1_000_000),
                                                  "commit_ms": .stringConvertible(timings.commitNanos / 1_000_000),
                                                  "merged_entries": .stringConvertible(timings.mergedEntries),
                                                  "applied_ms": .stringConvertible(ms(applied)),
                                                  "ms": .stringConvertible(ms(DispatchTime.now()))])
        return batch.count >= IndexBacklog.catchUpLimit
    }
}
