import SkeinCore

/// The one last-write-wins merge. Local writes stamp a version newer than anything stored
/// (the store's clock observes every version it applies); replicated entries and copied
/// rows come through here, against whatever `ReplicaStore` holds them.
public enum ReplicaMerge {
    /// What applying one batch did.
    public struct Outcome: Sendable, Equatable {
        /// Records (and schema changes) that changed.
        public var applied: Int
        /// The stored cursor afterwards.
        public var cursor: ReplicationCursor
        /// The batch was already applied (at or behind the cursor in the same log).
        public var duplicate: Bool
    }

    /// Merges writes by last-write-wins (a strictly newer version replaces a record or a
    /// tombstone; anything else changes nothing) and logs only the winners, per table.
    /// A table that does not exist here is created when the entry names its primary key;
    /// otherwise (rows of a copy, entries from before entries named it) its writes are
    /// skipped. Returns how many won.
    @discardableResult
    public static func merge<S: ReplicaStore>(_ writes: [ReplicatedWrite], into store: inout S, loggedAs entry: AuditEntry?) throws -> Int {
        var won = 0
        var start = writes.startIndex
        while start < writes.endIndex {
            let name = writes[start].table
            let end = writes[start...].firstIndex { $0.table != name } ?? writes.endIndex
            if let entry, let primaryKey = entry.primaryKey, try store.table(name) == nil {
                try store.createTable(name, primaryKey: primaryKey, for: entry)
            }
            if var table = try store.table(name, writtenBy: entry) {
                var winners: [ReplicatedWrite] = []
                for write in writes[start..<end] {
                    guard LastWriterWins.wins(write.version, over: try table.currentVersion(of: write.id)) else { continue }
                    try table.store(write)
                    winners.append(write)
                }
                try store.finish(table, name: name, winners: winners, loggedAs: entry)
                won += winners.count
            }
            start = end
        }
        return won
    }

    /// Applies a batch of `peer`'s log (entries `...through` of the log named `log`) with the
    /// cursor, as one unit in the caller's transaction. Entries at or before the cursor are
    /// skipped, so re-delivery changes nothing; a cursor into another log (the peer's log
    /// restarted) counts as no cursor, so the new log's entries are never mistaken for
    /// old ones, and the cursor then moves to the new log even when it goes back.
    /// With `restart` (the position a full copy was taken at) the cursor moves there even
    /// when it goes back: the copy merged everything the log held up to it.
    public static func apply<S: ReplicaStore>(_ entries: [AuditEntry], from peer: String, log: String?, through: UInt64,
                                              restart: Bool = false, into store: inout S) throws -> Outcome {
        let stored = try store.cursor(peer: peer)
        let sameLog = stored.isInto(log) && !restart
        let position = sameLog ? stored.sequence : 0
        let adopted = ReplicationCursor(sequence: through, log: log ?? stored.log)
        if sameLog && through <= position {
            // Already applied; a cursor stored before logs had identities learns this one.
            if stored.log == nil, let log {
                try store.setCursor(peer: peer, ReplicationCursor(sequence: stored.sequence, log: log))
                return Outcome(applied: 0, cursor: ReplicationCursor(sequence: stored.sequence, log: log), duplicate: true)
            }
            return Outcome(applied: 0, cursor: stored, duplicate: true)
        }
        var applied = 0
        for entry in entries where entry.sequence > position {
            if let changes = try store.applySchema(entry) {
                applied += changes
            } else {
                applied += try merge(entry.writes, into: &store, loggedAs: entry)
            }
        }
        try store.setCursor(peer: peer, adopted)
        return Outcome(applied: applied, cursor: adopted, duplicate: false)
    }
}
