import Foundation
import SkeinCore
import SkeinLMDB
import SkeinService
import SkeinStorage

/// The ordered stream a replicator consumes: "entries of database D after sequence S,
/// optionally only these tables, at most N". A caller that is up to date waits (long poll,
/// woken by the store's commit notices) instead of polling. Back-pressure is natural: the
/// consumer asks for the next batch only when it has handled the last one.
final class AuditStream: @unchecked Sendable {
    let registry: DatabaseRegistry
    /// Commit notices per database; a notice wakes only the polls waiting on its database.
    private let changes = ChangeGenerations()
    private let metrics = StreamMetrics()

    init(registry: DatabaseRegistry) { self.registry = registry }

    /// Called for each commit notice.
    func notify(database: String) {
        changes.changed(database)
    }

    /// Shutting down: waiting reads answer now with what they have, and none waits again.
    func stop() {
        changes.stop()
    }

    /// Blocking: run it off the RPC thread. Returns the reply body: the entries a
    /// replicator asks for (by origin, without before-images) go out as the stored bytes,
    /// never parsed here.
    func read(_ req: OperationRequest) throws -> [UInt8] {
        let name = try req.database()
        let from = UInt64(max(0, try req.int("from") ?? 1))
        let max = min(10_000, Swift.max(1, try req.int("max") ?? 500))
        let maxBytes = Swift.max(1, try req.int("max_bytes") ?? Int.max)
        let waitMillis = min(30_000, Swift.max(0, try req.int("wait_ms") ?? 0))
        let tables = try req.array("tables").map { Set($0.compactMap(\.stringValue)) }
        // Only the origins a subscriber asked for: a node does not ship the entries it
        // applied from others back out to be skipped (`next` still covers them).
        let origins = try req.array("origins").map { Set($0.compactMap(\.stringValue)) }
        // A replicator asks without before-images: peers never read them, and an entry then
        // always fits a replication message (ReplicationLimits).
        let withPrevious = try req.bool("previous") ?? true
        let deadline = Date().addingTimeInterval(Double(waitMillis) / 1000)
        while true {
            let seen = changes.generation(name)
            let stopping = changes.isStopping
            guard let env = try registry.database(name) else { throw SkeinError.notFound("database '\(name)' does not exist") }
            let log = JSON.string(env.logID)
            let (entries, next, oldest, newest, missing, clock) = try env.lmdb.read { txn in
                let oldest = try env.retainedFrom(txn)
                let newest = try env.lastSequence(txn)
                // Read with `newest`: every write of this node up to it is in the log so far.
                let clock = try env.clockHighWater(txn)
                let read = try env.readStoredLog(txn, from: from, limit: max, maxBytes: maxBytes, origins: origins)
                let entries = try read.entries.compactMap { bytes in try Self.wanted(bytes, tables: tables, withPrevious: withPrevious) }
                return (entries, read.next, oldest, newest, read.missing, clock)
            }
            // `pruned`: the caller's position is older than what is retained, or entries at
            // its position were deleted: streaming on would silently skip them.
            let pruned = from < oldest || missing
            if !entries.isEmpty || next > from || Date() >= deadline || pruned || stopping {
                // The entries are spliced in as stored: copied, not parsed and serialized again.
                let rest: JSON = ["next": JSON(next), "oldest": JSON(oldest), "newest": JSON(newest), "pruned": .bool(pruned),
                                  "log_id": log, "clock": clock.map { .string(String($0.rawValue)) } ?? .null]
                var list: [UInt8] = [UInt8(ascii: "[")]
                list.reserveCapacity(entries.reduce(2) { $0 + $1.count + 1 })
                for (i, e) in entries.enumerated() {
                    if i > 0 { list.append(UInt8(ascii: ",")) }
                    list.append(contentsOf: e)
                }
                list.append(UInt8(ascii: "]"))
                metrics.replied(entries: entries.count)
                return JSON.object(splicing: list[...], as: "entries", with: rest)
            }
            metrics.waited()
            _ = changes.wait(name, after: seen, until: deadline)
        }
    }

    /// One stored entry (already of the asked origins) as the reply carries it, or nil when
    /// the caller did not ask for its table. The bytes pass as they are (or with `previous`
    /// cut out); an entry is parsed only when tables are asked for.
    static func wanted(_ bytes: [UInt8], tables: Set<String>?, withPrevious: Bool) throws -> [UInt8]? {
        if let tables {
            guard let e = AuditEntry(json: try JSON.parse(bytes)), tables.contains(e.table) else { return nil }
        }
        guard !withPrevious else { return bytes }
        return AuditEntry.withoutPrevious(stored: bytes) ?? bytes
    }
}
