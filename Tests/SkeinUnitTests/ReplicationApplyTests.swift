import Foundation
import SkeinCore
import SkeinLMDB
import SkeinReplication
import Testing
@testable import SkeinStorage

/// The store's side of replication on real LMDB: entries from a peer merge by
/// last-write-wins, re-delivery changes nothing, cursors move with the data, copies merge.
@Suite("Storage: applying replicated entries and copies")
struct ReplicationApplyTests {
    /// A node's storage with its own name and clock.
    final class Node {
        let name: String
        let f: StorageFixture
        init(_ name: String, now: UInt64 = 1_700_000_000_000) throws {
            self.name = name
            f = try StorageFixture()
            f.now = now
        }
        func context() -> WriteContext {
            f.now += 1
            return WriteContext(version: f.clock.tick(now: f.now), origin: name, user: "admin")
        }
        func write(_ records: [JSON], mode: WriteMode = .upsert) throws {
            let ctx = context()
            try f.env.lmdb.write { txn in _ = try f.env.write(txn, table: "dog", records: records, mode: mode, context: ctx) }
        }
        func delete(_ ids: [JSON]) throws {
            let ctx = context()
            try f.env.lmdb.write { txn in _ = try f.env.delete(txn, table: "dog", ids: ids, context: ctx) }
        }
        func createDogTable() throws {
            let ctx = context()
            try f.env.lmdb.write { txn in _ = try f.env.createTable(txn, name: "dog", primaryKey: "id", attributes: ["name"], context: ctx) }
        }
        /// Entries that originated here (what this node publishes).
        func ownEntries(from: UInt64 = 1) throws -> [AuditEntry] { try f.audit(from: from).filter { $0.origin == name } }
        var lastSequence: UInt64 { get throws { try f.read { try f.env.lastSequence($0) } } }
        @discardableResult
        func apply(_ entries: [AuditEntry], from peer: String, through: UInt64) throws -> JSON {
            for e in entries { f.clock.receive(e.version, now: f.now) }
            let o = try f.env.lmdb.write { try f.env.applyReplicated($0, peer: peer, entries: entries, through: through) }
            return ["applied": JSON(o.applied), "cursor": JSON(o.cursor.sequence), "duplicate": .bool(o.duplicate)]
        }
        func state() throws -> [JSON: JSON] {
            Dictionary(uniqueKeysWithValues: try f.allRecords().map { (JSON.object($0)["id"]!, JSON.object($0)) })
        }
    }

    @Test func entriesFromAPeerApplyOnceAndMoveTheCursor() throws {
        let a = try Node("node-a"), b = try Node("node-b")
        try a.createDogTable()
        try a.write([["id": 1, "name": "Harper"], ["id": 2, "name": "Penny"]])
        let entries = try a.ownEntries()
        let through = try a.lastSequence
        let first = try b.apply(entries, from: "node-a", through: through)
        #expect(first["applied"]?.intValue == 3)  // the table and two records
        #expect(try b.state() == a.state())
        #expect(try b.f.read { try b.f.env.cursor($0, peer: "node-a") }.sequence == through)
        let logged = try b.f.audit().count
        // Re-delivery: nothing changes, nothing is logged again.
        let again = try b.apply(entries, from: "node-a", through: through)
        #expect(again["duplicate"]?.boolValue == true)
        #expect(try b.f.audit().count == logged)
        // Logged with the origin and version of the writer.
        let insert = try #require(try b.f.audit().first { $0.operation == "upsert" })
        #expect(insert.origin == "node-a")
        #expect(insert.version == entries.first { $0.operation == "upsert" }!.version)
    }

    @Test func olderWritesLoseAndDeletesStayDeleted() throws {
        let a = try Node("node-a"), b = try Node("node-b", now: 1_700_000_100_000)  // b's clock is ahead
        try a.createDogTable()
        try b.apply(try a.ownEntries(), from: "node-a", through: try a.lastSequence)
        let cursor = try a.lastSequence
        try a.write([["id": 1, "name": "from a"]])  // older (a's clock is behind)
        try b.write([["id": 1, "name": "from b"]])  // newer
        try b.delete([1])  // newest: a tombstone
        try b.apply(try a.ownEntries(from: cursor + 1), from: "node-a", through: try a.lastSequence)
        #expect(try b.state()[1] == nil)  // the older insert did not resurrect it
        // And the other way round a gets b's delete, which wins over its own older write.
        try a.apply(try b.ownEntries(), from: "node-b", through: try b.lastSequence)
        #expect(try a.state()[1] == nil)
    }

    @Test func concurrentUpdatesConvergeInAnyOrder() throws {
        let a = try Node("node-a"), b = try Node("node-b"), c = try Node("node-c")
        try a.createDogTable()
        let schema = try a.ownEntries()
        for n in [b, c] { try n.apply(schema, from: "node-a", through: try a.lastSequence) }
        let base = try a.lastSequence
        for i in 0..<20 {
            try a.write([["id": JSON(i % 5), "v": JSON(i), "by": "a"]])
            try b.write([["id": JSON(i % 5), "v": JSON(i), "by": "b"]])
            if i % 7 == 0 { try b.delete([JSON(i % 5)]) }
        }
        // c gets b first then a; a gets b; b gets a.
        try c.apply(try b.ownEntries(), from: "node-b", through: try b.lastSequence)
        try c.apply(try a.ownEntries(from: base + 1), from: "node-a", through: try a.lastSequence)
        try a.apply(try b.ownEntries(), from: "node-b", through: try b.lastSequence)
        try b.apply(try a.ownEntries(from: base + 1), from: "node-a", through: try a.lastSequence)
        #expect(try a.state() == b.state())
        #expect(try b.state() == c.state())
    }

    @Test func aFullCopyMergesAndNeverDeletesLocalOnlyRows() throws {
        let a = try Node("node-a"), b = try Node("node-b")
        try a.createDogTable()
        try b.apply(try a.ownEntries(), from: "node-a", through: try a.lastSequence)
        try b.write([["id": 1000, "name": "only on b"]])
        try a.write((0..<250).map { ["id": JSON($0), "name": .string("dog \($0)")] })
        try a.delete([7])
        // Page through a's table in key order and import into b.
        var after: JSON? = nil
        var pages = 0
        repeat {
            let page = try a.f.read { try a.f.env.exportRows($0, table: "dog", after: after, limit: 64) }
            #expect(page.rows.count <= 64)
            // As the store does: the page's bytes spliced into the import, records kept as bytes.
            let body = page.body
            let rows = try #require(JSON.topLevelValueRange(of: "rows", in: body))
            let request = try ReceivedRows(bytes: JSON.object(splicing: body[rows], as: "rows", with: ["table": "dog"]))
            let writes = ReplicatedWrite.fromCopyRows(table: "dog", received: request.rows)
            #expect(writes.count == page.rows.count)
            try b.f.env.lmdb.write { _ = try b.f.env.importRows($0, writes: writes) }
            after = page.last
            pages += 1
        } while after != nil
        #expect(pages >= 4)
        let state = try b.state()
        #expect(state.count == 250)  // 249 of a's (7 deleted) + b's own
        #expect(state[1000]?["name"] == "only on b")
        #expect(state[7] == nil)
        #expect(state[200]?["name"] == "dog 200")
        // Importing again changes nothing.
        let before = try b.f.audit().count
        let again = try a.f.read { try a.f.env.exportRows($0, table: "dog", after: nil, limit: 1000) }
        let changed = try b.f.env.lmdb.write { try b.f.env.importRows($0, table: "dog", rows: again.rows) }
        #expect(changed == 0)
        #expect(try b.f.audit().count == before)
    }
}
