import Foundation
import Logging
import SkeinCore
import SkeinLMDB
import SkeinStorage

/// Prunes audit logs by age (`logging.auditRetention`) and by size (`logging.maxSize`, per
/// database), oldest first, so the log is always a contiguous suffix of sequences and the
/// "oldest retained sequence" is a real horizon a replicator can compare its cursor with.
struct AuditRetention {
    let registry: DatabaseRegistry
    let retentionSeconds: Double
    let maxSize: UInt64
    let logger: Logger
    /// Entries deleted per write transaction, so the store's writer never waits long.
    static let chunk = 1000

    struct Outcome: Equatable {
        var deleted = 0
        var oldest: UInt64 = 0
    }

    func pruneAll(now: Date = Date()) {
        for name in registry.names() {
            do {
                guard let env = try registry.database(name) else { continue }
                let outcome = try prune(env, now: now)
                if outcome.deleted > 0 {
                    logger.info("pruned audit log", metadata: [
                        "database": .string(name), "deleted": .string("\(outcome.deleted)"), "oldest_retained": .string("\(outcome.oldest)"),
                    ])
                }
            } catch {
                logger.error("pruning failed", metadata: ["database": .string(name), "error": .string("\(error)")])
            }
        }
    }

    func prune(_ env: DatabaseEnvironment, now: Date) throws -> Outcome {
        let cutoff = now.timeIntervalSince1970 * 1000 - retentionSeconds * 1000
        var outcome = Outcome()
        while true {
            let (n, more) = try env.lmdb.write { txn -> (Int, Bool) in
                let cursor = try txn.cursor(env.auditDB)
                var n = 0
                var entry = cursor.first()
                while let (_, v) = entry, n < Self.chunk {
                    let tooOld = (AuditEntry(json: try JSON.parse(v))?.timestamp ?? 0) < cutoff
                    let tooBig = try txn.byteSize(env.auditDB) > maxSize
                    guard tooOld || tooBig else { break }
                    try cursor.deleteCurrent()
                    n += 1
                    entry = cursor.next()
                }
                return (n, n == Self.chunk)
            }
            outcome.deleted += n
            if !more { break }
        }
        outcome.oldest = try env.lmdb.read { try env.oldestSequence($0) }
        return outcome
    }
}
