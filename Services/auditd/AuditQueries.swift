import Foundation
import SkeinCore
import SkeinLMDB
import SkeinService
import SkeinStorage

/// `read_audit_log` and `delete_audit_logs_before`, over one database's log.
struct AuditQueries {
    let registry: DatabaseRegistry

    func database(_ req: OperationRequest) throws -> DatabaseEnvironment {
        let name = try req.database()
        guard let env = try registry.database(name) else { throw SkeinError.notFound("database '\(name)' does not exist") }
        return env
    }

    /// With `page`, at most a page of entries per call (docs/INTERFACES.md §5 "Paged
    /// results"); the `more` token is where the next page starts and how many entries the
    /// caller's `limit` still allows, so nothing is kept between pages. `search_type`
    /// `hash_value` and `username` answer Harper's objects keyed by id or user (`keyed`), whole.
    func read(_ req: OperationRequest, page: PageRequest? = nil) throws -> RPCReply {
        let env = try database(req)
        let table = try req.table()
        let limit = try req.int("limit")
        if let limit, limit < 0 { throw SkeinError.badRequest("'limit' must not be negative") }
        let searchType = try req.string("search_type")
        let values = try req.array("search_values") ?? []
        var filter: (AuditEntry) -> Bool = { _ in true }
        var endTime: Double?
        var keyedBy: Keyed?
        switch searchType {
        case nil:
            break
        case "timestamp":
            guard values.count <= 2, values.allSatisfy({ $0.doubleValue != nil }) else {
                throw SkeinError.badRequest("'search_values' for timestamp must be [start] or [start, end] in epoch milliseconds")
            }
            let start = values.first?.doubleValue ?? 0
            endTime = values.count == 2 ? values[1].doubleValue : nil
            filter = { e in e.timestamp >= start && (endTime == nil || e.timestamp <= endTime!) }
        case "username":
            let names = Set(values.compactMap(\.stringValue))
            guard names.count == values.count else { throw SkeinError.badRequest("'search_values' for username must be strings") }
            keyedBy = .username(names)
        case "hash_value":
            guard values.allSatisfy(\.isKeyScalar) else { throw SkeinError.badRequest("'search_values' for hash_value must be strings or numbers") }
            keyedBy = .hashValue(values)
        case let other?:
            throw SkeinError.badRequest("'search_type' must be timestamp, username or hash_value, not '\(other)'")
        }
        var from: UInt64 = 0
        var remaining = limit
        if let token = page?.continuation {
            guard keyedBy == nil, let position = Self.position(token) else { throw SkeinError.badRequest("malformed audit log page token '\(token)'") }
            (from, remaining) = position
            if page?.cancel == true { return RPCReply(json: []) }
        }
        let maxRows = page?.rows ?? .max, maxBytes = page?.bytes ?? .max
        return try env.lmdb.read { txn in
            if from == 0, try env.table(txn, table) == nil, try !tableWasKnown(txn, env, table) {
                throw SkeinError.notFound("Table '\(env.name).\(table)' does not exist")
            }
            if let keyedBy { return RPCReply(json: try keyed(txn, env, table, keyedBy, limit: limit)) }
            var out: [JSON] = []
            var bytes = 0
            var token: String?
            try forEachEntry(txn, env, table, from: from) { sequence, e, size in
                if let remaining, out.count >= remaining { return false }
                if out.count >= maxRows || bytes >= maxBytes {
                    token = Self.token(from: sequence, remaining: remaining.map { $0 - out.count })
                    return false
                }
                if let endTime, e.timestamp > endTime { return false }
                if e.changesRecords && filter(e) {
                    out.append(e.harperShape)
                    bytes += size
                }
                return true
            }
            if let token { return RPCReply(status: 200, body: JSON.array(out).serialized(), more: token) }
            return RPCReply(json: .array(out))
        }
    }

    /// Harper's keyed searches (ResourceBridge.ts readAuditLog): `hash_value` gives each
    /// asked id's history (`{id: [entry of that record]}`, every id a key), `username` each
    /// user's entries (`{user: [entry]}`).
    enum Keyed: Equatable {
        case hashValue([JSON])
        case username(Set<String>)

        var name: String {
            switch self {
            case .hashValue: "hash_value"
            case .username: "username"
            }
        }

        /// An id as an object key (JSON's: `1` → "1").
        static func key(_ id: JSON) -> String { id.stringValue ?? id.text }
    }

    /// What a keyed answer may hold: it is one object, built whole, so it is bounded
    /// instead of paged (`limit` narrows it to the oldest entries).
    static let keyedMaxEntries = 10_000
    static let keyedMaxBytes = 16 << 20

    func keyed(_ txn: LMDBTransaction, _ env: DatabaseEnvironment, _ table: String, _ by: Keyed, limit: Int?) throws -> JSON {
        var out: [String: [JSON]] = [:]
        if case .hashValue(let ids) = by { for id in ids { out[Keyed.key(id)] = [] } }
        var count = 0, bytes = 0
        try forEachEntry(txn, env, table, from: 0) { _, e, size in
            let before = count
            switch by {
            case .hashValue(let ids):
                for (i, id) in e.ids.enumerated() where ids.contains(id) && limit.map({ count < $0 }) ?? true {
                    out[Keyed.key(id), default: []].append(e.harperShape(recordAt: i))
                    count += 1
                }
            case .username(let names):
                if e.changesRecords, let user = e.user, names.contains(user), limit.map({ count < $0 }) ?? true {
                    out[user, default: []].append(e.harperShape)
                    count += 1
                }
            }
            if count > before { bytes += size }
            guard count <= Self.keyedMaxEntries, bytes <= Self.keyedMaxBytes else {
                throw SkeinError.tooLarge("read_audit_log by \(by.name) matches more than \(Self.keyedMaxEntries) entries or \(Self.keyedMaxBytes >> 20) MiB: narrow it with 'limit'")
            }
            return limit.map { count < $0 } ?? true
        }
        return .object(out.mapValues { .array($0) })
    }

    /// Visits the entries of `table` from sequence `from` in log order (with each one's
    /// sequence and stored size) while `visit` returns true.
    func forEachEntry(_ txn: LMDBTransaction, _ env: DatabaseEnvironment, _ table: String, from: UInt64,
                      _ visit: (UInt64, AuditEntry, Int) throws -> Bool) throws {
        let cursor = try txn.cursor(env.auditDB)
        var entry = try cursor.seek(KeyCodec.encodeUInt64(from))
        while let (k, v) = entry {
            if let e = AuditEntry(json: try JSON.parse(v)), e.table == table {
                guard try visit(KeyCodec.decodeUInt64(k), e, v.count) else { return }
            }
            entry = try cursor.next()
        }
    }

    /// A page token: the sequence the next page starts at, and the entries `limit` still
    /// allows (`-` for no limit).
    static func token(from sequence: UInt64, remaining: Int?) -> String {
        "\(sequence)/\(remaining.map(String.init) ?? "-")"
    }

    static func position(_ token: String) -> (UInt64, Int?)? {
        let parts = token.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let sequence = UInt64(parts[0]), sequence > 0 else { return nil }
        if parts[1] == "-" { return (sequence, nil) }
        guard let remaining = Int(parts[1]), remaining >= 0 else { return nil }
        return (sequence, remaining)
    }

    /// A dropped table's history stays readable while its entries are retained.
    func tableWasKnown(_ txn: LMDBTransaction, _ env: DatabaseEnvironment, _ table: String) throws -> Bool {
        var known = false
        try forEachEntry(txn, env, table, from: 0) { _, _, _ in
            known = true
            return false
        }
        return known
    }

    /// One step of `delete_audit_logs_before` (the gateway runs it as a job): from sequence
    /// `from` (default the start), looks at up to `limit` entries (default 10,000), deletes
    /// the record changes of `table` older than `timestamp` in one transaction (its schema
    /// entries stay), and answers how many it
    /// deleted and where the next step starts (`next`, null once an entry as new as
    /// `timestamp` or the end of the log is reached). Bounded steps keep each transaction
    /// small however long the log.
    func deleteBefore(_ req: OperationRequest) throws -> JSON {
        let env = try database(req)
        let table = try req.table()
        guard let timestamp = try req.number("timestamp") else { throw SkeinError.badRequest("'timestamp' (epoch milliseconds) is required") }
        let from = try req.int("from") ?? 0
        let limit = try req.int("limit") ?? 10_000
        guard from >= 0, limit > 0 else { throw SkeinError.badRequest("'from' must not be negative and 'limit' must be positive") }
        let (deleted, next) = try env.lmdb.write { txn -> (Int, UInt64?) in
            let cursor = try txn.cursor(env.auditDB)
            var n = 0, seen = 0
            var entry = try cursor.seek(KeyCodec.encodeUInt64(UInt64(from)))
            while let (k, v) = entry {
                if seen == limit { return (n, KeyCodec.decodeUInt64(k)) }
                seen += 1
                guard let e = AuditEntry(json: try JSON.parse(v)) else { entry = try cursor.next(); continue }
                if e.timestamp >= timestamp { return (n, nil) }
                // Record changes only, as Harper (whose audit log holds nothing else): the
                // table's schema entries (create_table, create_attribute, ...) stay, so
                // `deleted` counts what read_audit_log listed and a peer catching up still
                // learns the table's schema.
                if e.table == table && e.changesRecords {
                    try cursor.deleteCurrent()
                    n += 1
                }
                // LMDB: MDB_NEXT after a cursor delete yields the entry that followed it.
                entry = try cursor.next()
            }
            return (n, nil)
        }
        return ["deleted": JSON(deleted), "next": next.map { JSON(Int($0)) } ?? .null]
    }

    /// Per database: oldest and newest retained sequence, entry count and bytes.
    /// `holds`: what connected subscribers still need, per database and peer.
    func status(retentionSeconds: Double, maxSize: UInt64, holds: [String: [String: UInt64]] = [:]) throws -> JSON {
        var dbs: [String: JSON] = [:]
        for name in registry.names() {
            guard let env = try registry.database(name) else { continue }
            dbs[name] = try env.lmdb.read { txn in
                ["oldest": JSON(try env.oldestSequence(txn)), "newest": JSON(try env.lastSequence(txn)),
                 "entries": JSON(try txn.count(env.auditDB)), "bytes": .number(Double(try txn.byteSize(env.auditDB))),
                 "holds": .object((holds[name] ?? [:]).mapValues { JSON($0) })]
            }
        }
        return ["status": "ok", "retention_seconds": .number(retentionSeconds), "max_size": .number(Double(maxSize)),
                "databases": .object(dbs)]
    }
}
