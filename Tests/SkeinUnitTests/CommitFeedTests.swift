import Foundation
import Testing
@testable import SkeinCore
@testable import SkeinReplication
@testable import SkeinService
@testable import SkeinStorage

/// The store's commit feed: what the writer's tap keeps is exactly what committed, and a
/// `RecentLog` fed with it answers a publisher's log read as the log itself does
/// (`readStoredLog`, before-images cut, as auditd's `audit_stream` answers publishers).
@Suite("Commit feed")
struct CommitFeedTests {
    /// One group as the store's writer runs it: a write transaction, a child per write
    /// (those in `failing` abort), the tap taken before the commit.
    static func group(_ f: StorageFixture, origins: [String], ids: [Int], failing: Set<Int> = [], update: Bool = false) throws -> AppendedEntries? {
        f.env.tapAppends()
        let txn = try f.env.lmdb.beginWrite()
        for (i, origin) in origins.enumerated() {
            let child = try txn.child()
            let mark = f.env.appendedMark()
            f.now += 1
            let context = WriteContext(version: f.clock.tick(now: f.now), origin: origin, user: "admin")
            let records: [JSON] = [["id": JSON(ids[i]), "name": .string(String(repeating: "x", count: ids[i] % 40)), "by": .string(origin)]]
            _ = try f.env.write(child, table: "dog", records: records, mode: update ? .upsert : .insert, context: context)
            if failing.contains(i) {
                child.abort()
                f.env.rewindAppended(to: mark)
            } else {
                try child.commit()
            }
        }
        let taken = f.env.takeAppended()
        try txn.commit()
        return taken
    }

    @Test func theTapKeepsWhatCommittedAndNothingElse() throws {
        let f = try StorageFixture()
        try f.createTable()  // outside a tapped group: not kept
        let taken = try #require(try Self.group(f, origins: ["node-a", "node-a", "node-a"], ids: [1, 2, 3], failing: [1]))
        let stored = try f.read { try f.env.readStoredLog($0, from: 1, limit: 100) }.entries
        #expect(stored.count == 3)  // create_table, ids 1 and 3
        #expect(taken.first == 2)
        #expect(taken.entries == Array(stored[1...]))
        #expect(taken.entries.allSatisfy { AuditEntry(json: try! JSON.parse($0))?.ids != [2] })
        // Closed by the take: a write outside a group keeps nothing.
        try f.insert([["id": 9]])
        #expect(f.env.takeAppended()?.entries == nil)
    }

    /// A log of several origins, inserts and upserts (upserts carry before-images), fed
    /// commit by commit into a small `RecentLog` with some commits dropped on the way: every
    /// read it serves is what the log answers from that position.
    @Test func aRecentLogAnswersAsTheLogDoes() throws {
        let f = try StorageFixture()
        try f.createTable()
        var random = SplitMix(seed: 7)
        var recent = RecentLog(maxEntries: 60, maxBytes: 1 << 20)
        let nodes = ["node-a", "node-b", "node-c"]
        var served = 0, upToDate = 0, restarts = 0
        for round in 0..<150 {
            let n = Int.random(in: 1...4, using: &random)
            let origins = (0..<n).map { _ in nodes.randomElement(using: &random)! }
            let ids = (0..<n).map { _ in Int.random(in: 1...80, using: &random) }
            let taken = try #require(try Self.group(f, origins: origins, ids: ids, update: round > 20))
            // A dropped commit (the feed's high water mark, a late start): the next starts a new run.
            if Int.random(in: 0..<10, using: &random) == 0 { continue }
            if !recent.receive(log: f.env.logID, from: taken.first, clock: 5, entries: taken.entries) { restarts += 1 }

            let newest = try f.read { try f.env.lastSequence($0) }
            for _ in 0..<8 {
                // Half of the reads from what the run holds, half from anywhere in the log.
                let low = Bool.random(using: &random) ? 1 : Swift.min(recent.first, newest + 1)
                let from = UInt64.random(in: low...(newest + 1), using: &random)
                let wanted = Set(nodes.filter { _ in Bool.random(using: &random) })
                let max = Int.random(in: 1...12, using: &random)
                switch recent.read(from: from, log: f.env.logID, origins: wanted, max: max, maxBytes: .max, oldest: 1) {
                case .served(let read, let raw):
                    served += 1
                    let log = try f.read { try f.env.readStoredLog($0, from: from, limit: max, origins: wanted) }
                    let sent = log.entries.map { AuditEntry.withoutPrevious(stored: $0) ?? $0 }
                    #expect(raw.bytes.elementsEqual(Array("[".utf8) + Array(sent.joined(separator: Array(",".utf8))) + Array("]".utf8)))
                    #expect(read.next == log.next)
                    #expect(read.newest == newest)
                    #expect(read.entries.map(\.sequence) == raw.sequences)
                    #expect(read.entries.allSatisfy { wanted.contains($0.origin) })
                    #expect(!read.pruned && read.log == f.env.logID && read.clock == 5)
                case .upToDate:
                    upToDate += 1
                    #expect(from == newest + 1)
                case .notHeld:
                    #expect(from < recent.first || recent.newest != newest)
                }
            }
            // Another log (the database was dropped and made again) is never answered from this one.
            #expect({ if case .notHeld = recent.read(from: recent.first, log: "another", origins: nil, max: 5, maxBytes: .max, oldest: 1) { true } else { false } }())
        }
        #expect(served > 400 && upToDate > 0 && restarts > 5, "served \(served), up to date \(upToDate), restarts \(restarts)")
        #expect(recent.count <= 60)
    }

    /// A batch stops at its byte bound (as sent: without before-images) but always holds one entry.
    @Test func aReadStopsAtItsByteBound() throws {
        let f = try StorageFixture()
        try f.createTable()
        let taken = try #require(try Self.group(f, origins: ["node-a", "node-a", "node-a"], ids: [30, 31, 32]))
        var recent = RecentLog()
        recent.receive(log: f.env.logID, from: taken.first, clock: nil, entries: taken.entries)
        let one = taken.entries[0].count
        guard case .served(let read, _) = recent.read(from: taken.first, log: nil, origins: nil, max: 10, maxBytes: one + 1, oldest: 1),
              case .served(let least, _) = recent.read(from: taken.first, log: nil, origins: nil, max: 10, maxBytes: 1, oldest: 1) else {
            Issue.record("not served")
            return
        }
        #expect(read.entries.count == 1 && least.entries.count == 1)
        #expect(read.next == taken.first + 1)
    }

    /// The message the store publishes reads back as it was made; a malformed one is dropped.
    @Test func aCommitMessageRoundTrips() {
        let commit = CommitFeed.Commit(database: "data", log: "00ab", from: 41, clock: 99, entries: [Array("{}".utf8), Array("[]".utf8)])
        let back = CommitFeed.Commit(frames: commit.frames)
        #expect(back?.database == "data" && back?.log == "00ab" && back?.from == 41 && back?.clock == 99 && back?.entries == commit.entries)
        var frames = commit.frames
        frames.removeLast()  // `through` no longer matches the entries
        #expect(CommitFeed.Commit(frames: frames) == nil)
    }

    /// Who a commit concerns: the origins of the entries it added, and a reader is news
    /// only for a commit with entries of its origins (or of an origin the bytes did not tell).
    @Test func aCommitConcernsTheReadersOfItsOrigins() {
        var recent = RecentLog(maxEntries: 4, maxBytes: 1 << 20)
        func entry(_ seq: UInt64, _ origin: String) -> [UInt8] {
            Array(#"{"sequence":\#(seq),"version":"1","origin":"\#(origin)","operation":"insert","table":"t","ids":[1]}"#.utf8)
        }
        recent.receive(log: "L", from: 1, clock: nil, entries: [entry(1, "node-a"), entry(2, "node-b")])
        #expect(recent.origins(ofNewest: 2) == ["node-a", "node-b"])
        #expect(recent.origins(ofNewest: 1) == ["node-b"])
        recent.receive(log: "L", from: 3, clock: nil, entries: [entry(3, "node-c"), entry(4, "node-c"), entry(5, "node-c")])
        // Trimmed to 4 entries: a count past what is held stops at the oldest held.
        #expect(recent.origins(ofNewest: 9) == ["node-b", "node-c"])
        let commit = recent.origins(ofNewest: 3)
        #expect(!RecentLog.concerns(commit, wanted: ["node-a"]))
        #expect(RecentLog.concerns(commit, wanted: ["node-a", "node-c"]))
        #expect(RecentLog.concerns(commit, wanted: nil))
        #expect(RecentLog.concerns(nil, wanted: ["node-a"]))
        #expect(RecentLog.concerns([nil], wanted: ["node-a"]))
        #expect(!RecentLog.concerns([], wanted: ["node-a"]))
    }
}
