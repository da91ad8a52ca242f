import SkeinCore
import SkeinReplication

/// One simulated node: durable state (records with versions, the audit log, cursors) that
/// survives a crash, and sessions that do not. Local writes and the application of
/// replicated entries follow the same rules as `store` (LastWriterWins per record; an
/// applied entry is logged with its origin; the cursor moves in the same step).
struct SimNode {
    let name: String
    let skewMillis: Int64
    var clock = HybridLogicalClock()
    var up = true

    // Durable.
    var records: [JSON: (version: RecordVersion, value: JSON?)] = [:]
    var log: [AuditEntry] = []
    var cursors: [String: UInt64] = [:]

    // Volatile: lost on crash.
    var publishers: [String: PublisherSession] = [:]
    var subscribers: [String: SubscriberSession] = [:]

    init(name: String, skewMillis: Int64) {
        self.name = name
        self.skewMillis = skewMillis
    }

    func physical(_ now: UInt64) -> UInt64 { UInt64(max(1, Int64(now) + skewMillis)) }

    /// A local write (put or delete) of one record; returns the write for the global history.
    mutating func write(id: JSON, value: JSON?, now: UInt64) -> ReplicatedWrite {
        let version = RecordVersion(version: clock.tick(now: physical(now)), origin: name)
        precondition(LastWriterWins.wins(version, over: records[id]?.version), "a local write must win locally (HLC)")
        records[id] = (version, value)
        let entry = AuditEntry(
            sequence: UInt64(log.count + 1), version: version.version, origin: name, user: "sim",
            operation: value == nil ? "delete" : "upsert", table: "t", ids: [id],
            records: value.map { [$0] } ?? [], previous: [])
        log.append(entry)
        return ReplicatedWrite(table: "t", id: id, change: value.map { .put($0) } ?? .delete, version: version)
    }

    /// Applies replicated entries and the cursor atomically (what `store` does in one
    /// transaction). Entries that change nothing leave no trace.
    mutating func apply(_ entries: [AuditEntry], from peer: String, through: UInt64, now: UInt64) {
        for entry in entries {
            clock.receive(entry.version, now: physical(now))
            var ids: [JSON] = [], values: [JSON] = []
            for w in entry.writes where LastWriterWins.wins(w.version, over: records[w.id]?.version) {
                switch w.change {
                case .put(let v): records[w.id] = (w.version, v); values.append(v)
                case .delete: records[w.id] = (w.version, nil)
                }
                ids.append(w.id)
            }
            if !ids.isEmpty {
                log.append(AuditEntry(
                    sequence: UInt64(log.count + 1), version: entry.version, origin: entry.origin, user: entry.user,
                    operation: entry.operation, table: entry.table, ids: ids, records: values, previous: []))
            }
        }
        cursors[peer] = max(cursors[peer] ?? 0, through)
    }

    mutating func crash() {
        up = false
        publishers.removeAll()
        subscribers.removeAll()
    }
}
