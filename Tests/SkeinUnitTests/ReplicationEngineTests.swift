import Foundation
import SkeinCore
import SkeinLMDB
@testable import SkeinReplication
import Testing
@testable import SkeinStorage

/// The engine's lifecycle rules as pure types (sessions, the start decision) and on real
/// LMDB (cursors with log identities, byte-bounded copy pages, the clock's high-water mark).
@Suite("Replication engine: log identities, clock skew, batch checks, copy pages")
struct ReplicationEngineTests {
    static func entry(_ seq: UInt64, millis: UInt64 = 1_000, origin: String = "node-a") -> AuditEntry {
        AuditEntry(sequence: seq, version: HLCTimestamp(millis: millis, counter: 0), origin: origin, user: nil,
                   operation: "insert", table: "dog", ids: [JSON(seq)], records: [["id": JSON(seq)]], previous: [nil])
    }

    // MARK: Start decision

    @Test func aCursorIntoAnotherLogResynchronises() {
        let stored = ReplicationCursor(sequence: 11, log: "old")
        guard case .resync(let reason) = SubscriberSession.start(cursor: stored, peerLog: "new", startTime: nil, syncedFromAnyone: true) else {
            Issue.record("expected a resync")
            return
        }
        #expect(reason.contains("log restarted"))
        #expect(SubscriberSession.start(cursor: stored, peerLog: "old", startTime: nil, syncedFromAnyone: true) == .subscribe)
        // Nothing to compare: a cursor from before identities, or a peer without the database.
        #expect(SubscriberSession.start(cursor: ReplicationCursor(sequence: 11, log: nil), peerLog: "new", startTime: nil, syncedFromAnyone: true) == .subscribe)
        #expect(SubscriberSession.start(cursor: stored, peerLog: nil, startTime: nil, syncedFromAnyone: true) == .subscribe)
        // A new node's first sync; a route's start time never copies.
        #expect(SubscriberSession.start(cursor: .none, peerLog: "x", startTime: nil, syncedFromAnyone: false) == .firstSync)
        #expect(SubscriberSession.start(cursor: .none, peerLog: "x", startTime: nil, syncedFromAnyone: true) == .subscribe)
        #expect(SubscriberSession.start(cursor: .none, peerLog: "x", startTime: 5, syncedFromAnyone: false) == .subscribe)
    }

    @Test func aSubscriberPastTheEndOfTheLogIsToldToCopy() {
        var publisher = PublisherSession()
        let reply = publisher.receive(.subscribe(from: 12, origins: ["node-a"]), now: 0, oldestRetained: 1, newest: 5)
        guard case .pruned(_, let reason?) = reply else {
            Issue.record("expected pruned with a reason, got \(String(describing: reply))")
            return
        }
        #expect(reason.contains("past the end"))
        #expect(!publisher.subscribed)
        // At the end exactly is fine (nothing new yet), and so is an unknown database.
        var again = PublisherSession()
        #expect(again.receive(.subscribe(from: 6, origins: ["node-a"]), now: 0, oldestRetained: 1, newest: 5) == nil)
        #expect(again.receive(.subscribe(from: 12, origins: ["node-a"]), now: 0, oldestRetained: 0, newest: nil) == nil)
    }

    // MARK: Batch checks

    @Test func aBatchOfAnotherOriginOrOutOfOrderIsRejected() {
        var s = SubscriberSession(cursor: 0, origins: ["node-a"])
        let foreign = s.receive(.batch(from: 1, through: 2, entries: [Self.entry(1), Self.entry(2, origin: "node-c")]), now: 10_000)
        guard case .reject(let why) = foreign else { Issue.record("\(foreign)"); return }
        #expect(why.contains("node-c"))
        let disordered = s.receive(.batch(from: 1, through: 3, entries: [Self.entry(2), Self.entry(1)]), now: 10_000)
        guard case .reject = disordered else { Issue.record("\(disordered)"); return }
        let outside = s.receive(.batch(from: 1, through: 2, entries: [Self.entry(3)]), now: 10_000)
        guard case .reject = outside else { Issue.record("\(outside)"); return }
        #expect(s.cursor == 0)
        #expect(s.receive(.batch(from: 1, through: 2, entries: [Self.entry(1), Self.entry(2)]), now: 10_000)
                == .apply([Self.entry(1), Self.entry(2)], through: 2))
    }

    // MARK: Clock skew

    @Test func anEntryTooFarAheadPausesUntilLocalTimeCatchesUp() {
        var s = SubscriberSession(cursor: 0, origins: ["node-a"], maxClockSkewMillis: 3_000)
        let now: UInt64 = 100_000
        let batch = ReplicationMessage.batch(from: 1, through: 3, entries: [Self.entry(1, millis: now), Self.entry(2, millis: now + 8_000),
                                                                             Self.entry(3, millis: now)])
        // What came before the entry applies; the stream stops at it.
        #expect(s.receive(batch, now: now) == .apply([Self.entry(1, millis: now)], through: 1))
        #expect(s.paused == .init(sequence: 2, entryMillis: now + 8_000, aheadMillis: 8_000, resumeAtMillis: now + 5_000))
        _ = s.applied(through: 1)
        // While paused, batches are ignored and no subscribe goes out.
        #expect(s.receive(.batch(from: 2, through: 3, entries: [Self.entry(2, millis: now + 8_000)]), now: now + 1_000) == .none)
        #expect(s.tick(now: now + 4_999) == nil)
        // Local time within the skew: subscribe again from the cursor, and it applies.
        #expect(s.tick(now: now + 5_000) == .subscribe(from: 2, origins: ["node-a"]))
        #expect(s.paused == nil)
        #expect(s.receive(.batch(from: 2, through: 2, entries: [Self.entry(2, millis: now + 8_000)]), now: now + 5_000)
                == .apply([Self.entry(2, millis: now + 8_000)], through: 2))
    }

    // MARK: Cursors and logs on LMDB

    final class Replica {
        let f: StorageFixture
        init() throws {
            f = try StorageFixture()
            try f.createTable()
        }
        @discardableResult
        func apply(_ entries: [AuditEntry], log: String?, through: UInt64, restart: Bool = false) throws -> ReplicaMerge.Outcome {
            try f.env.lmdb.write { try f.env.applyReplicated($0, peer: "node-a", log: log, entries: entries, through: through, restart: restart) }
        }
        var cursor: ReplicationCursor { get throws { try f.read { try f.env.cursor($0, peer: "node-a") } } }
        var ids: Set<JSON> { get throws { Set(try f.allRecords().compactMap { $0["id"] }) } }
    }

    @Test func aNewLogsEntriesAreNeverTakenForOldOnes() throws {
        let r = try Replica()
        try r.apply((1...11).map { Self.entry($0) }, log: "old", through: 11)
        #expect(try r.cursor == ReplicationCursor(sequence: 11, log: "old"))
        // The same sequences of another log apply, and the cursor moves into it, back.
        let outcome = try r.apply([Self.entry(1, millis: 2_000), Self.entry(2, millis: 2_000)], log: "new", through: 2)
        #expect(!outcome.duplicate && outcome.applied == 2)
        #expect(try r.cursor == ReplicationCursor(sequence: 2, log: "new"))
        #expect(try r.apply([Self.entry(2, millis: 2_000)], log: "new", through: 2).duplicate)
    }

    @Test func aCopysPositionRestartsTheCursorAndALegacyCursorLearnsItsLog() throws {
        let r = try Replica()
        try r.apply((1...9).map { Self.entry($0) }, log: nil, through: 9)
        #expect(try r.cursor == ReplicationCursor(sequence: 9, log: nil))
        // A re-delivery names the log: the legacy cursor keeps its place and learns it.
        #expect(try r.apply([Self.entry(9)], log: "L", through: 9).duplicate)
        #expect(try r.cursor == ReplicationCursor(sequence: 9, log: "L"))
        // A full copy taken at 4 (the log went back: a restored backup) moves the cursor back.
        try r.apply([], log: "L", through: 4, restart: true)
        #expect(try r.cursor == ReplicationCursor(sequence: 4, log: "L"))
    }

    @Test func everyDatabaseHasItsOwnLogIdentity() throws {
        let f = try StorageFixture()
        let other = try f.registry.create("other").0
        #expect(f.env.logID.count == 16 && other.logID.count == 16 && f.env.logID != other.logID)
        // Stored in the environment; dropped and created again, it changes.
        #expect(try other.lmdb.read { try $0.get(other.metaDB, StorageLayout.logIDKey) } == Array(other.logID.utf8))
        let id = other.logID
        try f.registry.drop("other")
        #expect(try f.registry.create("other").0.logID != id)
    }

    @Test func theClockHighWaterMarkOutlivesThePrunedLog() throws {
        let f = try StorageFixture()
        let ahead = HLCTimestamp(millis: 9_000_000_000_000, counter: 3)
        try f.env.lmdb.write { try f.env.setClockHighWater($0, ahead) }
        #expect(try f.read { try f.env.lastVersion($0) } == ahead)
    }

    // MARK: Copy pages

    @Test func pagesAreBoundedByBytesAndNeverSkipARow() throws {
        let r = try Replica()
        // Records with rows of ~1 KB, tombstones between them.
        try r.f.insert((0..<60).map { ["id": JSON($0), "blob": .string(String(repeating: "b", count: 1_000))] })
        try r.f.write { txn, ctx in _ = try r.f.env.delete(txn, table: "dog", ids: (0..<60).filter { $0 % 3 == 0 }.map { JSON($0) }, context: ctx) }
        var after: JSON? = nil
        var seen: [JSON] = []
        var pages = 0
        repeat {
            let page = try r.f.read { try r.f.env.exportRows($0, table: "dog", after: after, limit: 1000, maxBytes: 5_000) }
            #expect(page.rows.count <= 8, "a page of \(page.rows.count) rows is over the byte bound")
            seen += page.rows.compactMap { $0["id"] }
            after = page.last
            pages += 1
        } while after != nil && pages < 100
        #expect(seen.count == 60, "every row once: \(seen.count)")
        #expect(Set(seen).count == 60)
    }

    @Test func aRowTooBigForAnyMessageIsNamedNotSent() throws {
        let r = try Replica()
        try r.f.insert([["id": 1, "blob": "small"], ["id": 2, "blob": .string(String(repeating: "x", count: 5_000))], ["id": 3]])
        let page = try r.f.read { try r.f.env.exportRows($0, table: "dog", after: nil, limit: 10, maxRowBytes: 1_000) }
        #expect(page.rows.compactMap { $0["id"] } == [1, 3])
        #expect(page.oversized.first?["id"] == 2)
        #expect(page.oversized.first?["oversized"]?.intValue ?? 0 > 5_000)
    }
}
