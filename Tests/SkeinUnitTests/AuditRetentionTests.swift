import Foundation
import Testing
import SkeinCore
import SkeinLMDB
@testable import SkeinStorage

@Suite("Storage: audit retention")
struct AuditRetentionTests {
    /// Appends `count` audit entries directly (one transaction), `spacingMillis` apart.
    static func appendEntries(_ f: StorageFixture, count: Int, spacingMillis: UInt64 = 1, padding: Int = 0) throws {
        let pad = String(repeating: "p", count: padding)
        try f.env.lmdb.write { txn throws in
            for i in 0..<count {
                f.now += spacingMillis
                let version = f.clock.tick(now: f.now)
                let entry = AuditEntry(sequence: 0, version: version, origin: "node-a", user: "admin", operation: "insert",
                                       table: "dog", ids: [JSON(i)], records: [["id": JSON(i), "pad": .string(pad)]], previous: [nil])
                try f.env.appendAudit(txn, entry)
            }
        }
    }

    static func sequences(_ f: StorageFixture) throws -> [UInt64] {
        try f.audit().map(\.sequence)
    }

    static func date(millis: UInt64) -> Date { date(millis: Double(millis)) }
    static func date(millis: Double) -> Date { Date(timeIntervalSince1970: millis / 1000) }

    /// Retained entries are consecutive and end at the last sequence ever written.
    static func expectContiguousSuffix(_ f: StorageFixture, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let seqs = try sequences(f)
        let last = try f.read { try f.env.lastSequence($0) }
        let oldest = try f.read { try f.env.oldestSequence($0) }
        if seqs.isEmpty {
            #expect(oldest == 0, sourceLocation: sourceLocation)
        } else {
            #expect(seqs == Array(seqs.first!...last), sourceLocation: sourceLocation)
            #expect(oldest == seqs.first, sourceLocation: sourceLocation)
        }
    }

    @Test func appendAuditNumbersEntries() throws {
        let f = try StorageFixture()
        try Self.appendEntries(f, count: 5)
        #expect(try Self.sequences(f) == [1, 2, 3, 4, 5])
        #expect(try f.read { try f.env.lastSequence($0) } == 5)
        #expect(try f.audit(from: 3).map { $0.ids } == [[2], [3], [4]])
    }

    @Test func tinyRetentionInTheFuturePrunesEverything() throws {
        let f = try StorageFixture()
        try Self.appendEntries(f, count: 50)
        let retention = AuditRetention(registry: f.registry, retentionSeconds: 0.001, maxSize: 1 << 30)
        let outcome = try retention.prune(f.env, now: Self.date(millis: f.now + 3_600_000))
        #expect(outcome.deleted == 50)
        #expect(outcome.oldest == 51) // the next sequence: everything before it is gone
        #expect(try f.audit().isEmpty)
        #expect(try f.read { try f.env.oldestSequence($0) } == 0)
        // The sequence is not reset: the next entry follows the last one ever written.
        #expect(try f.read { try f.env.lastSequence($0) } == 50)
        try Self.appendEntries(f, count: 1)
        #expect(try Self.sequences(f) == [51])
        #expect(try f.read { try f.env.oldestSequence($0) } == 51)
        // Pruning again with nothing old is a no-op.
        let again = try AuditRetention(registry: f.registry, retentionSeconds: 3600, maxSize: 1 << 30)
            .prune(f.env, now: Self.date(millis: f.now))
        #expect(again == AuditRetention.Outcome(deleted: 0, oldest: 51))
    }

    @Test
    func prunedEverythingKeepsTheHorizon() throws {
        let f = try StorageFixture()
        try Self.appendEntries(f, count: 50)
        let retention = AuditRetention(registry: f.registry, retentionSeconds: 0.001, maxSize: 1 << 30)
        let outcome = try retention.prune(f.env, now: Self.date(millis: f.now + 3_600_000))
        #expect(outcome.deleted == 50)
        // The first sequence still obtainable is 51: a reader at 1..50 has lost entries.
        #expect(outcome.oldest == 51)
    }

    @Test func retentionPrunesOnlyOlderEntries() throws {
        let f = try StorageFixture()
        let start = f.now
        try Self.appendEntries(f, count: 10, spacingMillis: 1000) // at start+1s ... start+10s
        // Keep the last 4.5 s before start+10s: entries at 6s..10s survive.
        let retention = AuditRetention(registry: f.registry, retentionSeconds: 4.5, maxSize: 1 << 30)
        let outcome = try retention.prune(f.env, now: Self.date(millis: start + 10_000))
        #expect(outcome.deleted == 5)
        #expect(outcome.oldest == 6)
        #expect(try Self.sequences(f) == [6, 7, 8, 9, 10])
        try Self.expectContiguousSuffix(f)
    }

    /// What a connected peer still needs survives age pruning, not the size cap; a hold
    /// not refreshed for its expiry no longer counts.
    @Test func heldEntriesSurviveAgeButNotTheSizeCap() throws {
        let f = try StorageFixture()
        let start = f.now
        try Self.appendEntries(f, count: 10, spacingMillis: 1000, padding: 1000)
        let now = Self.date(millis: start + 60_000)
        let holds = LogHolds(expiry: 30)
        holds.hold(database: "data", peer: "node-b", from: 4, now: now)
        holds.hold(database: "data", peer: "node-c", from: 7, now: now)
        let byAge = AuditRetention(registry: f.registry, retentionSeconds: 1, maxSize: 1 << 30)
        _ = byAge.pruneAll(now: now, holds: holds)
        #expect(try Self.sequences(f) == Array(4...10))
        // The hard cap wins over holds.
        let capped = AuditRetention(registry: f.registry, retentionSeconds: 1, maxSize: 3 * 1024)
        _ = capped.pruneAll(now: now, holds: holds)
        #expect(try Self.sequences(f).first ?? .max > 4)
        try Self.expectContiguousSuffix(f)
        // A peer gone for longer than the expiry holds nothing.
        #expect(holds.live(now: now)["data"] == ["node-b": 4, "node-c": 7])
        #expect(holds.keepFrom(database: "data", now: now.addingTimeInterval(31)) == nil)
    }

    @Test func sizeLimitPrunesOldestFirst() throws {
        let f = try StorageFixture()
        try Self.appendEntries(f, count: 300, padding: 1000)
        let before = try f.read { try $0.byteSize(f.env.auditDB) }
        #expect(before > 256 * 1024)
        let maxSize: UInt64 = 64 * 1024
        let retention = AuditRetention(registry: f.registry, retentionSeconds: 86400 * 365, maxSize: maxSize)
        let outcome = try retention.prune(f.env, now: Self.date(millis: f.now))
        let seqs = try Self.sequences(f)
        #expect(outcome.deleted > 0)
        #expect(outcome.deleted + seqs.count == 300)
        #expect(!seqs.isEmpty)
        #expect(seqs.last == 300, "the newest entry survives")
        #expect(outcome.oldest == seqs.first)
        #expect(try f.read { try $0.byteSize(f.env.auditDB) } <= maxSize)
        try Self.expectContiguousSuffix(f)
        // Pruning again at the same size deletes nothing.
        #expect(try retention.prune(f.env, now: Self.date(millis: f.now)).deleted == 0)
    }

    @Test func pruningMoreThanOneChunk() throws {
        let f = try StorageFixture()
        let n = AuditRetention.chunk * 2 + 345
        try Self.appendEntries(f, count: n)
        let cutoffIndex = AuditRetention.chunk + 500 // entries 1...cutoffIndex are too old
        let outcome = try AuditRetention(registry: f.registry, retentionSeconds: 0, maxSize: 1 << 30)
            .prune(f.env, now: Self.date(millis: Double(f.now) - Double(n - cutoffIndex) + 0.5))
        #expect(outcome.deleted == cutoffIndex)
        #expect(outcome.oldest == UInt64(cutoffIndex + 1))
        try Self.expectContiguousSuffix(f)
        #expect(try f.audit().count == n - cutoffIndex)
    }

    @Test func pruneAllCoversEveryDatabase() throws {
        let f = try StorageFixture()
        try Self.appendEntries(f, count: 3)
        let (other, _) = try f.registry.create("other")
        try other.lmdb.write { txn throws in
            let v = f.clock.tick(now: f.now)
            try other.appendAudit(txn, AuditEntry(sequence: 0, version: v, origin: "n", user: nil, operation: "insert",
                                                  table: "t", ids: [], records: [], previous: []))
        }
        let results = AuditRetention(registry: f.registry, retentionSeconds: 0.001, maxSize: 1 << 30)
            .pruneAll(now: Self.date(millis: f.now + 60_000))
        #expect(Set(results.keys) == ["data", "other"])
        #expect(try results["data"]?.get() == AuditRetention.Outcome(deleted: 3, oldest: 4))
        #expect(try results["other"]?.get() == AuditRetention.Outcome(deleted: 1, oldest: 2))
    }

    @Test func prunedStoreKeepsWorking() throws {
        let f = try StorageFixture()
        try f.createTable()
        for i in 0..<5 { try f.insert([["id": JSON(i)]]) }
        _ = try AuditRetention(registry: f.registry, retentionSeconds: 0.001, maxSize: 1 << 30)
            .prune(f.env, now: Self.date(millis: f.now + 1000))
        try f.insert([["id": 99]])
        let audit = try f.audit()
        #expect(audit.map(\.sequence) == [7])
        #expect(audit.first?.ids == [99])
        // Data is untouched by pruning the log.
        #expect(try f.allRecords().count == 6)
    }
}

/// A reader of the log must never stream past entries deleted in the middle of it.
@Suite("Storage: reading the log across holes")
struct LogHoleTests {
    @Test func aHoleStopsTheReaderAndIsReported() throws {
        let f = try StorageFixture()
        try f.createTable("dog")
        try f.createTable("cat")
        for i in 0..<3 {
            try f.insert([["id": JSON(i)]], table: "dog")
            try f.insert([["id": JSON(i)]], table: "cat")
        }
        // seq 1-2: create_table dog/cat; then dog 3, cat 4, dog 5, cat 6, dog 7, cat 8.
        let cutoff = try #require(try f.audit().first { $0.table == "cat" && $0.operation == "insert" }).timestamp + 1000
        _ = try f.env.lmdb.write { txn -> Int in
            // What delete_audit_logs_before does for table cat: remove its entries only.
            let cursor = try txn.cursor(f.env.auditDB)
            var n = 0
            var e = try cursor.first()
            while let (_, v) = e {
                if let entry = AuditEntry(json: try JSON.parse(v)), entry.table == "cat", entry.operation == "insert", entry.timestamp < cutoff {
                    try cursor.deleteCurrent()
                    n += 1
                }
                e = try cursor.next()
            }
            return n
        }
        let first = try f.read { try f.env.readLog($0, from: 1, limit: 100) }
        #expect(first.entries.map(\.sequence) == [1, 2, 3])  // stops before the hole at 4
        #expect(!first.missing)
        let atHole = try f.read { try f.env.readLog($0, from: first.next, limit: 100) }
        #expect(atHole.entries.isEmpty)
        #expect(atHole.missing)
        // A byte bound cuts a read short (never below one entry); `next` follows it.
        let one = try f.read { try f.env.readLog($0, from: 1, limit: 100, maxBytes: 1) }
        #expect(one.entries.map(\.sequence) == [1] && one.next == 2)
        // Past the end of the log nothing is missing.
        let end = try f.read { try f.env.readLog($0, from: try f.env.lastSequence($0) + 1, limit: 100) }
        #expect(!end.missing && end.entries.isEmpty)
    }
}
