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
/// Pace: a catch-up as soon as a write committed, then at most one per `interval`, so
/// under load each takes the records of a whole interval (and more when one took longer):
/// the more records a catch-up takes, the more of them share each index page it writes.
final class IndexWorker: @unchecked Sendable {
    let registry: DatabaseRegistry
    let writer: GroupCommitWriter
    let logger: Logger
    static let interval: TimeInterval = 0.2

    private let wake = NSCondition()
    private var nudged = true
    private var stopping = false
    private let stopped = DispatchSemaphore(value: 0)

    init(registry: DatabaseRegistry, writer: GroupCommitWriter, logger: Logger) {
        self.registry = registry
        self.writer = writer
        self.logger = logger
    }

    func start() {
        let t = Thread { [self] in loop() }
        t.name = "indexer"
        t.start()
    }

    /// A write committed: there may be records to index.
    func nudge() {
        wake.lock()
        nudged = true
        wake.signal()
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
        while true {
            wake.lock()
            while !nudged && !stopping { wake.wait() }
            nudged = false
            let done = stopping
            wake.unlock()
            if done { break }
            let started = Date()
            for name in registry.names() where !isStopping {
                do {
                    while let env = try registry.database(name), try catchUp(env), !isStopping {}
                } catch {
                    logger.error("index catch-up failed", metadata: ["database": .string(name), "error": .string("\(error)")])
                }
            }
            let rest = Self.interval - Date().timeIntervalSince(started)
            if rest > 0 { Thread.sleep(forTimeInterval: rest) }
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
        guard let batch = try env.lmdb.read({ try env.prepareCatchUp($0) }) else { return false }
        try env.applyCatchUp(batch)
        let applied = DispatchTime.now()
        // The backlog is settled by the writer, in its transaction of the same environment.
        let settled = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var reply: RPCReply? = nil
        writer.submit(.init(kind: .write(database: env.name, createDatabase: false) { current, txn, _ in
            guard current === env else { return ["skipped": true] }
            try env.confirmCatchUp(txn, batch)
            return ["confirmed": JSON(batch.count)]
        }, user: nil, respond: { r in
            reply = r
            settled.signal()
        }))
        settled.wait()
        if let reply, reply.status >= 400 {
            throw SkeinError.internal("confirming catch-up \(batch.number): \(String(decoding: reply.body, as: UTF8.self))")
        }
        let ms = { (t: DispatchTime) in (t.uptimeNanoseconds - started.uptimeNanoseconds) / 1_000_000 }
        logger.debug("index catch-up", metadata: ["database": .string(env.name), "records": .stringConvertible(batch.count),
                                                  "number": .stringConvertible(batch.number), "applied_ms": .stringConvertible(ms(applied)),
                                                  "ms": .stringConvertible(ms(DispatchTime.now()))])
        return batch.count >= IndexBacklog.catchUpLimit
    }
}
