import Foundation
import SkeinCore
import SkeinLMDB
import SkeinStorage

/// `read_audit_log` and `delete_audit_logs_before`, over one database's log.
struct AuditQueries {
    let registry: DatabaseRegistry

    func database(_ req: OperationRequest) throws -> DatabaseEnvironment {
        let name = try req.database()
        guard let env = try registry.database(name) else { throw SkeinError.notFound("database '\(name)' does not exist") }
        return env
    }

    func read(_ req: OperationRequest) throws -> JSON {
        let env = try database(req)
        let table = try req.table()
        let limit = try req.int("limit")
        if let limit, limit < 0 { throw SkeinError.badRequest("'limit' must not be negative") }
        let searchType = try req.string("search_type")
        let values = try req.array("search_values") ?? []
        var filter: (AuditEntry) -> Bool = { _ in true }
        var endTime: Double?
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
            filter = { e in e.user.map(names.contains) ?? false }
        case "hash_value":
            guard values.allSatisfy(\.isKeyScalar) else { throw SkeinError.badRequest("'search_values' for hash_value must be strings or numbers") }
            filter = { e in e.ids.contains { id in values.contains(id) } }
        case let other?:
            throw SkeinError.badRequest("'search_type' must be timestamp, username or hash_value, not '\(other)'")
        }
        return try env.lmdb.read { txn in
            guard try env.table(txn, table) != nil || tableWasKnown(txn, env, table) else {
                throw SkeinError.notFound("Table '\(env.name).\(table)' does not exist")
            }
            let cursor = try txn.cursor(env.auditDB)
            var out: [JSON] = []
            var entry = try cursor.first()
            while let (_, v) = entry {
                if let limit, out.count >= limit { break }
                if let e = AuditEntry(json: try JSON.parse(v)), e.table == table {
                    if let endTime, e.timestamp > endTime { break }
                    if filter(e) { out.append(e.harperShape) }
                }
                entry = try cursor.next()
            }
            return .array(out)
        }
    }

    /// A dropped table's history stays readable while its entries are retained.
    func tableWasKnown(_ txn: LMDBTransaction, _ env: DatabaseEnvironment, _ table: String) throws -> Bool {
        let cursor = try txn.cursor(env.auditDB)
        var entry = try cursor.first()
        while let (_, v) = entry {
            if let e = AuditEntry(json: try JSON.parse(v)), e.table == table { return true }
            entry = try cursor.next()
        }
        return false
    }

    func deleteBefore(_ req: OperationRequest) throws -> JSON {
        let env = try database(req)
        let table = try req.table()
        guard let timestamp = try req.number("timestamp") else { throw SkeinError.badRequest("'timestamp' (epoch milliseconds) is required") }
        let deleted = try env.lmdb.write { txn -> Int in
            let cursor = try txn.cursor(env.auditDB)
            var n = 0
            var entry = try cursor.first()
            while let (_, v) = entry {
                guard let e = AuditEntry(json: try JSON.parse(v)) else { entry = try cursor.next(); continue }
                if e.timestamp >= timestamp { break }
                if e.table == table {
                    try cursor.deleteCurrent()
                    n += 1
                }
                // LMDB: MDB_NEXT after a cursor delete yields the entry that followed it.
                entry = try cursor.next()
            }
            return n
        }
        return ["message": .string("deleted \(deleted) audit log entries of '\(env.name).\(table)' before \(Int64(timestamp))")]
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
