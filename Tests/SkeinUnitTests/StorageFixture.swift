import Foundation
import SkeinCore
import SkeinLMDB
@testable import SkeinStorage

/// A node's data directory in a temp dir, one open database `data`, and a controllable clock.
final class StorageFixture {
    let dir: String
    let registry: DatabaseRegistry
    let env: DatabaseEnvironment
    var clock = HybridLogicalClock()
    var now: UInt64 = 1_700_000_000_000

    init(database: String = "data") throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("skein-ut-\(UUID().uuidString)").path
        registry = try DatabaseRegistry(dataDir: dir + "/database", mapSize: 1 << 28)
        env = try registry.create(database).0
    }

    deinit {
        registry.closeAll()
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// A new write context one millisecond later than the previous one.
    func context(user: String? = "admin") -> WriteContext {
        now += 1
        return WriteContext(version: clock.tick(now: now), origin: "node-a", user: user)
    }

    /// Runs `body` in its own committed write transaction with a fresh context.
    @discardableResult
    func write<T>(user: String? = "admin", _ body: (LMDBTransaction, WriteContext) throws -> T) throws -> T {
        let ctx = context(user: user)
        return try env.lmdb.write { try body($0, ctx) }
    }

    func read<T>(_ body: (LMDBTransaction) throws -> T) throws -> T { try env.lmdb.read(body) }

    func createTable(_ name: String = "dog", primaryKey: String = "id", attributes: [String] = []) throws {
        try write { txn, ctx in _ = try env.createTable(txn, name: name, primaryKey: primaryKey, attributes: attributes, context: ctx) }
    }

    @discardableResult
    func insert(_ records: [JSON], table: String = "dog", mode: WriteMode = .insert) throws -> JSON {
        try write { txn, ctx in try env.write(txn, table: table, records: records, mode: mode, context: ctx) }
    }

    /// Brings the secondary indexes up to date (the store's writer does it in batches).
    @discardableResult
    func catchUpIndexes() throws -> Int {
        try env.catchUpIndexesNow()
    }

    func audit(from: UInt64 = 1) throws -> [AuditEntry] {
        try read { try env.auditEntries($0, from: from, limit: 100_000) }
    }

    /// Every record of a table, read with a cursor (no index, no condition).
    func allRecords(_ table: String = "dog") throws -> [[String: JSON]] {
        try read { txn in
            guard let db = env.lmdb.cached(StorageLayout.records(table)) else { return [] }
            let cursor = try txn.cursor(db)
            var out: [[String: JSON]] = []
            var e = try cursor.first()
            while let (_, v) = e {
                if let r = StoredRecord.decode(v), let o = r.value.objectValue { out.append(o) }
                e = try cursor.next()
            }
            return out
        }
    }

    func record(_ id: JSON, table: String = "dog") throws -> [String: JSON]? {
        try read { try env.searchByID($0, table: table, ids: [id], attributes: nil) }.first?.objectValue
    }
}

extension IndexEnvironment {
    /// An index's handles once published (any transaction begun from now on may use
    /// them): its main and recent databases, those that exist.
    func publishedHandles(_ storageID: String, _ attribute: String) -> [LMDBDatabase] {
        let name = Self.indexName(storageID, attribute)
        return [lmdb.cached(name), lmdb.cached(Self.recentName(name))].compactMap { $0 }
    }
}
