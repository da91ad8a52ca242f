import Foundation
import Testing
import SkeinCore
import SkeinLMDB
@testable import SkeinStorage

/// Each index is a main database and a recent one (`IndexEnvironment`): catch-ups add to
/// the recent one, which moves into the main one once it is a quarter of its size (or the
/// floor), except while the main one is small and for entries at or past its end, which go
/// straight into it. A pair is in exactly one of them, and searches read both: exact at
/// every step.
@Suite("Recent index entries")
struct RecentIndexTests {
    /// Main and recent entry counts of one index.
    static func counts(_ f: StorageFixture, _ attribute: String) throws -> (main: Int, recent: Int) {
        let id = try #require(try f.read { try f.env.table($0, "dog") }?.storageID)
        let indexes = try #require(f.env.indexes)
        let name = IndexEnvironment.indexName(id, attribute)
        return try indexes.lmdb.read { txn in
            let main = try indexes.lmdb.cached(name).map { try txn.count($0) } ?? 0
            let recent = try indexes.lmdb.cached(IndexEnvironment.recentName(name)).map { try txn.count($0) } ?? 0
            return (main, recent)
        }
    }

    /// Equality, ranges and prefixes on a random number and a random text answer what a
    /// scan of the records answers.
    static func expectExact(_ f: StorageFixture, _ note: String, _ rng: inout some RandomNumberGenerator) throws {
        let all = try f.allRecords()
        var conditions: [SearchCondition] = []
        for _ in 0..<6 {
            let n = Double(Int.random(in: 0..<400, using: &rng))
            conditions.append(.leaf(attribute: "amount", comparator: .equals, value: .number(n)))
            conditions.append(.leaf(attribute: "amount", comparator: .between, value: [.number(n), .number(n + 40)]))
            conditions.append(.leaf(attribute: "tag", comparator: .starts_with, value: .string("t\(Int.random(in: 0..<30, using: &rng))")))
        }
        conditions.append(.leaf(attribute: "amount", comparator: .greater_than, value: 350))
        let n = Double(Int.random(in: 0..<1800, using: &rng))
        conditions.append(.leaf(attribute: "seq", comparator: .between, value: [.number(n), .number(n + 90)]))
        for c in conditions {
            let expected = Set(all.filter { c.matches($0) }.compactMap { $0["id"]?.doubleValue })
            let found = try f.read { try f.env.search($0, table: "dog", condition: c, options: .init()) }
            #expect(found.count == expected.count && Set(found.compactMap { $0["id"]?.doubleValue }) == expected, "\(note): \(c)")
        }
    }

    @Test func catchUpsFillTheRecentEntriesThenMoveThemIntoTheMainIndex() throws {
        let f = try StorageFixture()
        try f.createTable()
        try #require(f.env.indexes).mergeFloor = 300
        try #require(f.env.indexes).directBelow = 600
        var rng = SplitMix(seed: 42)
        func record(_ id: Int) -> JSON {
            ["id": .number(Double(id)), "seq": .number(Double(id)), "amount": .number(Double(Int.random(in: 0..<400, using: &rng))),
             "tag": .string("t\(Int.random(in: 0..<300, using: &rng))")]
        }
        var merges = 0
        var lastRecent = 0
        var lastMain = 0
        var searchedBoth = 0
        var nextID = 0
        var deleted: Set<Int> = []
        for round in 0..<30 {
            // New records, updates of older ones (their keys move), and a few deletes.
            try f.insert((0..<60).map { _ in defer { nextID += 1 }; return record(nextID) })
            if nextID > 100 {
                // Records that exist (an upsert of a deleted one would add its old `seq` again).
                let updated = (0..<25).map { _ in Int.random(in: 0..<(nextID - 60), using: &rng) }
                    .filter { !deleted.contains($0) }.map(record)
                try f.insert(updated, mode: .upsert)
                let gone = (0..<5).map { _ in Int.random(in: 0..<nextID, using: &rng) }
                deleted.formUnion(gone)
                try f.write { txn, ctx in _ = try f.env.delete(txn, table: "dog", ids: gone.map { .number(Double($0)) }, context: ctx) }
            }
            try Self.expectExact(f, "round \(round), waiting", &rng)
            try f.catchUpIndexes()
            try Self.expectExact(f, "round \(round), caught up", &rng)
            let (main, recent) = try Self.counts(f, "amount")
            let withAmount = try f.allRecords().filter { $0["amount"] != nil }.count
            #expect(main + recent == withAmount, "round \(round): one entry per record")
            #expect(recent < max(300, main / 4), "round \(round): recent entries are moved once due")
            if lastMain < 600 { #expect(recent == 0, "round \(round): a small main index takes the entries itself") }
            if recent == 0, lastRecent > 0 { merges += 1 }
            (lastRecent, lastMain) = (recent, main)
            // A growing attribute extends the main index at its end: never a recent entry.
            let seq = try Self.counts(f, "seq")
            #expect(seq.recent == 0 && seq.main == withAmount, "round \(round): seq \(seq)")
            let tag = try Self.counts(f, "tag")
            if tag.main > 0, tag.recent > 0 { searchedBoth += 1 }
        }
        #expect(merges >= 3, "the recent entries moved into the main index only \(merges) times")
        #expect(searchedBoth >= 5, "searches read both parts of the tag index in \(searchedBoth) rounds")
    }
}
