import Foundation
import SkeinCore
import SkeinLMDB
import SkeinStorage

/// Prunes audit logs by age (`logging.auditRetention`) and by size (`logging.maxSize`, per
/// database), oldest first, so the log is always a contiguous suffix of sequences and the
/// "oldest retained sequence" is a real horizon a replicator can compare its cursor with.
public struct AuditRetention: Sendable {
    public let registry: DatabaseRegistry
    public let retentionSeconds: Double
    public let maxSize: UInt64

    public init(registry: DatabaseRegistry, retentionSeconds: Double, maxSize: UInt64) {
        self.registry = registry
        self.retentionSeconds = retentionSeconds
        self.maxSize = maxSize
    }
    /// Entries deleted per write transaction, so the store's writer never waits long.
    static let chunk = 1000

    public struct Outcome: Equatable, Sendable {
        public var deleted = 0
        /// The first sequence still readable (the next one when everything was pruned).
        public var oldest: UInt64 = 0
    }

    /// Prunes every database; returns each one's outcome (or the error it hit). Entries from
    /// a database's lowest hold on are kept from age pruning (`holds`: what connected peers
    /// still need), not from the size cap.
    public func pruneAll(now: Date = Date(), holds: LogHolds? = nil) -> [String: Result<Outcome, any Error>] {
        var out: [String: Result<Outcome, any Error>] = [:]
        for name in registry.names() {
            do {
                guard let env = try registry.database(name) else { continue }
                out[name] = .success(try prune(env, now: now, keepFrom: holds?.keepFrom(database: name, now: now)))
            } catch {
                out[name] = .failure(error)
            }
        }
        return out
    }

    public func prune(_ env: DatabaseEnvironment, now: Date, keepFrom: UInt64? = nil) throws -> Outcome {
        let cutoff = now.timeIntervalSince1970 * 1000 - retentionSeconds * 1000
        var outcome = Outcome()
        while true {
            let (n, more) = try env.lmdb.write { txn -> (Int, Bool) in
                let cursor = try txn.cursor(env.auditDB)
                var n = 0
                var entry = try cursor.first()
                while let (k, v) = entry, n < Self.chunk {
                    let held = keepFrom.map { KeyCodec.decodeUInt64(k) >= $0 } ?? false
                    let tooOld = try !held && (AuditEntry(json: JSON.parse(v))?.timestamp ?? 0) < cutoff
                    let tooBig = try txn.byteSize(env.auditDB) > maxSize
                    guard tooOld || tooBig else { break }
                    try cursor.deleteCurrent()
                    n += 1
                    entry = try cursor.next()
                }
                return (n, n == Self.chunk)
            }
            outcome.deleted += n
            if !more { break }
        }
        outcome.oldest = try env.lmdb.read { try env.retainedFrom($0) }
        return outcome
    }
}
