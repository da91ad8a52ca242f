import Foundation
import Logging
import SkeinCore
import SkeinLMDB
import SkeinService
import SkeinStorage

/// Removes expired records (`create_table` `expiration`) from storage on a queue of its
/// own: each table with a TTL is scanned every quarter of its TTL (Harper's cleanup
/// interval; at least every `interval`, at most every `longest`), a step of `stepRecords`
/// records per write job, so the writer never holds one large transaction for it. Reads
/// never wait for it: they skip expired records themselves.
final class ExpirationEvictor: @unchecked Sendable {
    let registry: DatabaseRegistry
    let writer: GroupCommitWriter
    let clock: WallClock
    let logger: Logger
    static let interval: TimeInterval = 0.25
    static let longest: TimeInterval = 3600
    static let stepRecords = 1000
    /// When each table ("database.table") is next due (touched on `queue` only).
    private var due: [String: Date] = [:]
    private let queue = DispatchQueue(label: "evictor")
    private var timer: (any DispatchSourceTimer)?
    private let stopping = Locked(false)

    init(registry: DatabaseRegistry, writer: GroupCommitWriter, clock: WallClock, logger: Logger) {
        self.registry = registry
        self.writer = writer
        self.clock = clock
        self.logger = logger
    }

    func start() {
        let t = DispatchSource.makeTimerSource(queue: queue)
        t.schedule(deadline: .now() + Self.interval, repeating: Self.interval)
        t.setEventHandler { [self] in sweep() }
        timer = t
        t.resume()
    }

    /// Stops the timer and waits for a scan under way to end (it stops after its step).
    func stop() {
        stopping.withLock { $0 = true }
        timer?.cancel()
        queue.sync {}
    }

    private var isStopping: Bool { stopping.withLock { $0 } }

    private func sweep() {
        // Only databases already open: opening one here could re-create a dropped one's files.
        for name in registry.openedNames() where !isStopping {
            guard let env = registry.opened(name) else { continue }
            do {
                for schema in try env.lmdb.read({ try env.tables($0) }) {
                    guard let ttl = schema.expirationMillis, isDue("\(name).\(schema.name)", ttl) else { continue }
                    try evict(env, schema.name)
                }
            } catch {
                logger.error("eviction of expired records failed", metadata: ["database": .string(name), "error": .string("\(error)")])
            }
        }
    }

    /// Whether the table's scan is due now; if so, schedules its next one.
    private func isDue(_ table: String, _ ttl: UInt64) -> Bool {
        let now = Date()
        if let next = due[table], next > now { return false }
        let every = min(max(Double(ttl) / 4000, Self.interval), Self.longest)
        due[table] = now.addingTimeInterval(every)
        return true
    }

    /// One scan of a table, a step per write job.
    private func evict(_ env: DatabaseEnvironment, _ table: String) throws {
        var after: [UInt8]? = nil
        var evicted = 0
        repeat {
            let step = try runStep(env, table, after: after)
            evicted += step.evicted
            after = step.resumeAfter
        } while after != nil && !isStopping
        if evicted > 0 {
            logger.debug("evicted expired records", metadata: ["database": .string(env.name), "table": .string(table),
                                                               "records": .stringConvertible(evicted)])
        }
    }

    private func runStep(_ env: DatabaseEnvironment, _ table: String, after: [UInt8]?) throws -> DatabaseEnvironment.EvictionStep {
        let now = clock.nowMillis()
        let step = try writer.runAndWait(on: env, "evicting expired records of '\(env.name).\(table)'") { txn in
            try env.evictExpired(txn, table: table, after: after, now: now, limit: Self.stepRecords)
        }
        // A step that did not run (the database was replaced meanwhile) ends the scan.
        return step ?? .end
    }
}
