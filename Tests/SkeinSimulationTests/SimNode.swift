import SkeinCore
import SkeinReplication

/// One simulated node: durable state (records with versions, the audit log, cursors) that
/// survives a crash, and sessions that do not. Replicated entries and copied rows merge
/// through `ReplicaMerge` — the same last-write-wins, cursor and "log only the winners"
/// code the LMDB store runs — with this node as its `ReplicaStore`.
struct SimNode {
    let name: String
    var skewMillis: Int64
    var clock = HybridLogicalClock()
    var up = true

    typealias Row = (version: RecordVersion, value: JSON?)

    // Durable.
    /// Rows (records and tombstones) by table, then id. Table `t` exists from the start;
    /// others are created during the run (schema changes).
    var tables: [String: [JSON: Row]] = ["t": [:]]
    /// The retained entries in sequence order; pruning removes the oldest, a hole
    /// (`delete_audit_logs_before`) some in the middle.
    var log: [AuditEntry] = []
    /// The last sequence written (entries are numbered without gaps when written).
    var lastSequence: UInt64 = 0
    /// The log's identity: a wiped node starts a new log under a new one.
    var logID: String
    var cursors: [String: ReplicationCursor] = [:]
    /// The newest version the clock handed out or observed, persisted (the store's high-water mark).
    var clockHighWater: HLCTimestamp = .zero

    // Volatile: lost on crash.
    /// This node's publisher machines, by subscriber.
    var publishers: [String: PublisherMachine] = [:]
    /// What connected subscribers still need (auditd's holds): from, and when refreshed.
    var holds: [String: (from: UInt64, refreshed: UInt64)] = [:]
    /// This node's subscriber machines, by publisher (a machine keeps a copy's progress
    /// across reconnects, not across a crash).
    var subscribers: [String: SubscriberMachine] = [:]
    /// Watermarks and peers' frontiers (the replicator's, in memory).
    var horizon = TombstoneHorizon()
    /// The replicator's `RecentLog` of this node's log, fed by the store's commit feed
    /// (`append`); small, so it trims often.
    var recent = RecentLog(maxEntries: 48, maxBytes: 1 << 16)
    /// The feed drops what the store publishes meanwhile.
    var feedDrops = false

    init(name: String, skewMillis: Int64, logID: String) {
        self.name = name
        self.skewMillis = skewMillis
        self.logID = logID
    }

    func physical(_ now: UInt64) -> UInt64 { UInt64(max(1, Int64(now) + skewMillis)) }

    /// The first sequence a reader can still get (the next one when everything was pruned).
    var retainedFrom: UInt64 { log.first?.sequence ?? lastSequence + 1 }

    /// A record's size in the simulation's bytes: its padding and a little.
    static func size(ofRecord record: JSON) -> Int { 60 + (record["pad"]?.stringValue?.utf8.count ?? 0) }

    /// An entry's size as sent (records after the write, no before-images).
    static func size(of entry: AuditEntry) -> Int { 120 + entry.records.reduce(0) { $0 + size(ofRecord: $1) } }

    /// What a log reader at `from` gets (as `DatabaseEnvironment.readLog`): the entries from
    /// there on, stopping before a hole or at `maxBytes` (never fewer than one entry);
    /// `missing` when the position itself is gone.
    func readLog(from: UInt64, max: Int, maxBytes: Int = .max) -> (entries: [AuditEntry], next: UInt64, missing: Bool) {
        if from < retainedFrom { return ([], from, true) }
        // The log is in sequence order: find the first entry at or after `from` by bisection.
        var low = 0, high = log.count
        while low < high {
            let mid = (low + high) / 2
            if log[mid].sequence < from { low = mid + 1 } else { high = mid }
        }
        guard low < log.count else { return ([], from, false) }
        let start = low
        var out: [AuditEntry] = []
        var next = from
        var bytes = 0
        for e in log[start...] where out.count < max {
            if e.sequence != next { return (out, next, out.isEmpty) }
            bytes += Self.size(of: e)
            if bytes > maxBytes && !out.isEmpty { break }
            out.append(e)
            next += 1
        }
        return (out, next, false)
    }

    /// Appends an entry under the next sequence.
    mutating func append(_ entry: AuditEntry) {
        lastSequence += 1
        var e = entry
        e.sequence = lastSequence
        log.append(e)
        // Published once committed (a node's step is one transaction here).
        if !feedDrops { recent.receive(log: logID, from: e.sequence, clock: clockHighWater.rawValue, entries: [e.json.serialized()]) }
    }

    /// The table `t`.
    var records: [JSON: Row] { tables["t"] ?? [:] }

    /// A local write (put or delete) of one record; returns the write for the global history.
    /// The entry names the table's primary key, as the store's do.
    mutating func write(table: String = "t", id: JSON, value: JSON?, now: UInt64) -> ReplicatedWrite {
        let version = RecordVersion(version: clock.tick(now: physical(now)), origin: name)
        clockHighWater = clock.last
        precondition(LastWriterWins.wins(version, over: tables[table]?[id]?.version), "a local write must win locally (HLC)")
        tables[table, default: [:]][id] = (version, value)
        append(AuditEntry(sequence: 0, version: version.version, origin: name, user: "sim", operation: value == nil ? "delete" : "upsert",
                          table: table, ids: [id], records: value.map { [$0] } ?? [], previous: [],
                          details: AuditEntry.recordDetails(primaryKey: "id")))
        return ReplicatedWrite(table: table, id: id, change: value.map { .put($0) } ?? .delete, version: version)
    }

    /// `create_table` here (a schema change, logged and streamed like the store's).
    mutating func createTable(_ table: String, now: UInt64) {
        guard tables[table] == nil else { return }
        let version = clock.tick(now: physical(now))
        clockHighWater = clock.last
        tables[table] = [:]
        append(AuditEntry(sequence: 0, version: version, origin: name, user: "sim", operation: "create_table", table: table,
                          ids: [], records: [], previous: [], details: ["name": .string(table), "primary_key": "id"]))
    }

    /// The clock observes a version it applies (what the store's writer does).
    mutating func observe(_ version: HLCTimestamp, now: UInt64) {
        clock.receive(version, now: physical(now))
        clockHighWater = clock.last
    }

    /// Prunes the oldest `count` entries (by size), or those older than `before` (by age).
    mutating func prune(count: Int) { log.removeFirst(min(count, log.count)) }

    /// Age pruning spares everything from `keepFrom` (what a connected peer still needs).
    mutating func prune(olderThan before: UInt64, keepFrom: UInt64?) {
        let n = log.firstIndex { $0.version.millis >= before || $0.sequence >= (keepFrom ?? .max) } ?? log.count
        log.removeFirst(n)
    }

    /// Drops the tombstones not newer than `through` (an HLC raw value); returns how many.
    mutating func pruneTombstones(through: UInt64) -> Int {
        var pruned = 0
        for (table, rows) in tables {
            for (id, row) in rows where row.value == nil && row.version.version.rawValue <= through {
                tables[table]![id] = nil
                pruned += 1
            }
        }
        return pruned
    }

    /// `delete_audit_logs_before` on one table: entries in the middle disappear, leaving a hole.
    mutating func punchHole(_ range: Range<Int>) { log.removeSubrange(range) }

    /// A crash loses the sessions; a restart's clock starts from the persisted high-water mark.
    mutating func crash() {
        up = false
        publishers.removeAll()
        holds.removeAll()
        subscribers.removeAll()
        horizon = TombstoneHorizon()
        recent = RecentLog(maxEntries: recent.maxEntries, maxBytes: recent.maxBytes)
        clock = HybridLogicalClock(last: clockHighWater)
    }

    /// The disk is replaced: nothing survives but the name (a new log identity).
    mutating func wipe(newLogID: String) {
        crash()
        tables = ["t": [:]]
        log.removeAll()
        lastSequence = 0
        cursors.removeAll()
        clockHighWater = .zero
        clock = HybridLogicalClock()
        logID = newLogID
    }

    /// The database is dropped here and created again (drops stay local): a new, empty log
    /// under a new identity; the clock keeps its high-water mark (the node's other databases).
    mutating func recreate(newLogID: String) {
        tables = ["t": [:]]
        log.removeAll()
        lastSequence = 0
        cursors.removeAll()
        logID = newLogID
    }

    static let admin: JSON = "admin"

    /// The first super user a node writes for itself when it has none (the store's
    /// `ensure_admin`): with the bootstrap version, so the cluster's own admin wins.
    mutating func bootstrapAdmin() -> ReplicatedWrite? {
        guard records[Self.admin] == nil else { return nil }
        let version = RecordVersion(version: .bootstrap, origin: name)
        let value: JSON = ["id": Self.admin, "password": "bootstrap", "by": .string(name)]
        tables["t", default: [:]][Self.admin] = (version, value)
        append(AuditEntry(sequence: 0, version: version.version, origin: name, user: nil, operation: "insert",
                          table: "t", ids: [Self.admin], records: [value], previous: []))
        return ReplicatedWrite(table: "t", id: Self.admin, change: .put(value), version: version)
    }

    /// Every row (records and tombstones) of `table` as a full copy exports them.
    func exportedRows(_ table: String) -> [ReplicatedWrite] {
        let rows = tables[table] ?? [:]
        return rows.keys.sorted { $0.text < $1.text }.map { id in
            let r = rows[id]!
            return ReplicatedWrite(table: table, id: id, change: r.value.map { .put($0) } ?? .delete, version: r.version)
        }
    }
}

/// One table of a simulated node while writes merge into it.
struct SimTable: ReplicaTable {
    var records: [JSON: SimNode.Row]
    var values: [JSON] = []

    mutating func currentVersion(of id: JSON) throws -> RecordVersion? { records[id]?.version }

    mutating func store(_ write: ReplicatedWrite) throws {
        if let v = try write.change.record() {
            records[write.id] = (write.version, v)
            values.append(v)
        } else {
            records[write.id] = (write.version, nil)
        }
    }
}

extension SimNode: ReplicaStore {
    mutating func table(_ name: String) throws -> SimTable? { tables[name].map { SimTable(records: $0) } }

    mutating func createTable(_ name: String, primaryKey: String, for entry: AuditEntry) throws {
        try createTable(from: AuditEntry(sequence: 0, version: entry.version, origin: entry.origin, user: entry.user, operation: "create_table",
                                         table: name, ids: [], records: [], previous: [], details: ["name": .string(name), "primary_key": .string(primaryKey)]))
    }

    mutating func finish(_ table: SimTable, name: String, winners: [ReplicatedWrite], loggedAs entry: AuditEntry?) throws {
        tables[name] = table.records
        guard let entry, !winners.isEmpty else { return }
        append(AuditEntry(sequence: 0, version: entry.version, origin: entry.origin, user: entry.user, operation: entry.operation,
                          table: entry.table, ids: winners.map(\.id), records: table.values, previous: [], details: entry.details))
    }

    /// As the store: a `create_table` creates a missing table and is logged; other schema
    /// entries change nothing here.
    mutating func applySchema(_ entry: AuditEntry) throws -> Int? {
        if AuditEntry.recordOperations.contains(entry.operation) { return nil }
        guard entry.operation == "create_table" else { return 0 }
        return try createTable(from: entry)
    }

    @discardableResult
    private mutating func createTable(from entry: AuditEntry) throws -> Int {
        guard tables[entry.table] == nil else { return 0 }
        tables[entry.table] = [:]
        append(entry)
        return 1
    }

    func cursor(peer: String) throws -> ReplicationCursor { cursors[peer] ?? .none }

    mutating func setCursor(peer: String, _ cursor: ReplicationCursor) throws { cursors[peer] = cursor }
}
