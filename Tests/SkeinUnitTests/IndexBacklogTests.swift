import Foundation
import Testing
import SkeinCore
import SkeinLMDB
@testable import SkeinStorage

/// The index backlog and its catch-ups (`IndexBacklog`, `IndexEnvironment`): every step of a
/// catch-up can be interrupted or overtaken by writes, and searches stay exact throughout.
@Suite("Index backlog")
struct IndexBacklogTests {
    static let colors = ["red", "green", "blue", "black"]

    /// 200 records with a color and a size, caught up.
    static func populated() throws -> StorageFixture {
        let f = try StorageFixture()
        try f.createTable()
        try f.insert((0..<200).map { i in ["id": .number(Double(i)), "color": .string(colors[i % 4]), "size": .number(Double(i % 7))] })
        try f.catchUpIndexes()
        return f
    }

    /// Every search by color and size answers what a scan of the records answers.
    static func expectExact(_ f: StorageFixture, _ note: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let all = try f.allRecords()
        var conditions: [SearchCondition] = (colors + ["white"]).map { .leaf(attribute: "color", comparator: .equals, value: .string($0)) }
        conditions += [.leaf(attribute: "size", comparator: .greater_than_equal, value: 5), .leaf(attribute: "size", comparator: .equals, value: 2)]
        for c in conditions {
            let expected = Set(all.filter { c.matches($0) }.compactMap { $0["id"]?.doubleValue })
            let found = try f.read { try f.env.search($0, table: "dog", condition: c, options: .init()) }
            #expect(found.count == expected.count && Set(found.compactMap { $0["id"]?.doubleValue }) == expected, "\(note): \(c)",
                    sourceLocation: sourceLocation)
        }
    }

    /// Index entries of one attribute (key → ids), read straight from the index environment.
    static func indexEntries(_ f: StorageFixture, _ attribute: String) throws -> Int {
        let id = try #require(try f.read { try f.env.table($0, "dog") }?.storageID)
        let dbs = f.env.indexes?.publishedHandles(id, attribute) ?? []
        return try #require(f.env.indexes).lmdb.read { txn in try dbs.reduce(0) { $0 + (try txn.count($1)) } }
    }

    @Test func writesBetweenSnapshotAndConfirmAreCaughtUpExactly() throws {
        let f = try Self.populated()
        try f.insert((0..<50).map { i in ["id": .number(Double(i)), "color": "white"] }, mode: .update)
        // The snapshot stays open until the settling, which reads changed records from it.
        let snapshot = try f.env.lmdb.beginRead()
        defer { snapshot.abort() }
        let batch = try #require(try f.env.prepareCatchUp(snapshot))
        #expect(batch.count == 50)
        try f.env.applyCatchUp(batch)
        // Applied, not confirmed: the indexes hold the snapshot, the backlog the older values.
        try Self.expectExact(f, "applied, not confirmed")
        // Writes overtake the catch-up: 10 of its records change again, 5 go.
        try f.insert((0..<10).map { i in ["id": .number(Double(i)), "color": "red", "size": 99] }, mode: .update)
        try f.write { txn, ctx in _ = try f.env.delete(txn, table: "dog", ids: (40..<45).map { .number(Double($0)) }, context: ctx) }
        try Self.expectExact(f, "overtaken")
        try f.env.lmdb.write { try f.env.confirmCatchUp($0, batch, snapshot: snapshot) }
        try Self.expectExact(f, "confirmed")
        #expect(try f.read { try f.env.indexBacklogCount($0) } == 15, "the changed records wait again")
        try f.catchUpIndexes()
        try Self.expectExact(f, "caught up")
        // No stale entry is left: one color entry per record.
        #expect(try Self.indexEntries(f, "color") == 195)
        #expect(try Self.indexEntries(f, "size") == 195)
    }

    /// Catch-ups go round the backlog: a record whose key sorts after the keys that keep
    /// arriving is taken by the next catch-up, not left waiting while earlier keys come in.
    @Test func catchUpsGoRoundTheBacklog() throws {
        let f = try Self.populated()
        try f.insert((1000..<1010).map { i in ["id": .number(Double(i)), "color": "blue", "size": 1] })
        var after: [UInt8]? = nil
        for round in 0..<3 {
            // Ten earlier keys change before each catch-up of ten records.
            try f.insert((0..<10).map { i in ["id": .number(Double(100 - 10 * round + i)), "color": "white"] }, mode: .update)
            let snapshot = try f.env.lmdb.beginRead()
            defer { snapshot.abort() }
            let batch = try #require(try f.env.prepareCatchUp(snapshot, limit: 10, after: after))
            after = batch.resumeAfter
            try f.env.applyCatchUp(batch)
            try f.env.lmdb.write { try f.env.confirmCatchUp($0, batch, snapshot: snapshot) }
            try Self.expectExact(f, "round \(round)")
            if round >= 1 {
                #expect(try Self.indexEntries(f, "color") == 210, "round \(round): the late records are indexed")
            }
        }
        // Waiting now: 90–99 (after the last catch-up's end, 89) and 0–4 (before it). A
        // catch-up of 12 takes 90–99, then rounds to 0 and 1; the next takes 2–4 and stops
        // where it started: every record waiting was taken.
        try f.insert((0..<5).map { i in ["id": .number(Double(i)), "color": "red"] }, mode: .update)
        for (limit, expected, resumes) in [(12, [90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 0, 1], true), (12, [2, 3, 4], false)] {
            let snapshot = try f.env.lmdb.beginRead()
            defer { snapshot.abort() }
            let batch = try #require(try f.env.prepareCatchUp(snapshot, limit: limit, after: after))
            let ids = try batch.items.map { item in try #require(IndexBacklog.parts(item.key)).record }
            #expect(ids == expected.map { KeyCodec.encode(.number(Double($0)))![...] }, "limit \(limit)")
            #expect((batch.resumeAfter != nil) == resumes)
            after = batch.resumeAfter
            try f.env.applyCatchUp(batch)
            try f.env.lmdb.write { try f.env.confirmCatchUp($0, batch, snapshot: snapshot) }
            try Self.expectExact(f, "round to the start, limit \(limit)")
        }
        #expect(try f.read { try f.env.indexBacklogCount($0) } == 0)
        #expect(try Self.indexEntries(f, "color") == 210)
    }

    /// The store settles a catch-up in parts, one writer job each, with writes between
    /// them: searches stay exact between parts, the catch-up counts as settled only with its
    /// last part, and a restart after some parts settles the rest.
    @Test func aCatchUpSettledInPartsWithWritesBetweenThem() throws {
        for crashAfterFirstPart in [false, true] {
            let f = try Self.populated()
            try f.insert((0..<50).map { i in ["id": .number(Double(i)), "color": "white"] }, mode: .update)
            let snapshot = try f.env.lmdb.beginRead()
            defer { snapshot.abort() }
            let batch = try #require(try f.env.prepareCatchUp(snapshot))
            try f.env.applyCatchUp(batch)
            let parts = stride(from: 0, to: batch.count, by: 16).map { $0..<min(batch.count, $0 + 16) }
            #expect(parts.count == 4)
            try f.env.lmdb.write { try f.env.confirmCatchUp($0, batch, part: parts[0], snapshot: snapshot) }
            #expect(try f.read { try f.env.indexConfirmed($0) } == batch.number - 1, "not settled before its last part")
            try Self.expectExact(f, "one part settled")
            // Writes between parts: records of settled and unsettled parts change again.
            try f.insert([["id": 3, "color": "red"], ["id": 40, "color": "green"]], mode: .update)
            try Self.expectExact(f, "written between parts")
            if crashAfterFirstPart {
                try f.env.reconcileIndexes()
            } else {
                for part in parts.dropFirst() { try f.env.lmdb.write { try f.env.confirmCatchUp($0, batch, part: part, snapshot: snapshot) } }
            }
            #expect(try f.read { try f.env.indexConfirmed($0) } == batch.number)
            try Self.expectExact(f, "settled")
            #expect(try f.read { try f.env.indexBacklogCount($0) } == 2, "only the records written since wait")
            try f.catchUpIndexes()
            try Self.expectExact(f, "caught up")
            // Settled in full, no stale entry is left; a restart's settling may leave one
            // for a record changed since (`recoverCatchUp`: searches check every candidate).
            let entries = try Self.indexEntries(f, "color")
            #expect(crashAfterFirstPart ? (200...201).contains(entries) : entries == 200, "crash: \(crashAfterFirstPart)")
        }
    }

    @Test func aCatchUpAppliedButNotConfirmedIsSettledAtStart() throws {
        let f = try Self.populated()
        try f.insert((0..<30).map { i in ["id": .number(Double(i)), "color": "white"] }, mode: .update)
        let batch = try #require(try f.read { try f.env.prepareCatchUp($0) })
        try f.env.applyCatchUp(batch)
        try f.insert([["id": 3, "color": "green"]], mode: .update)
        // The store stopped here (a crash): start-up settles the catch-up from its keys.
        try f.env.reconcileIndexes()
        #expect(try f.read { try f.env.indexConfirmed($0) } == batch.number)
        #expect(try f.read { try f.env.indexBacklogCount($0) } == 1, "only the record written since waits")
        try Self.expectExact(f, "settled")
        try f.catchUpIndexes()
        try Self.expectExact(f, "caught up")
    }

    @Test func indexesAreRebuiltWhenTheirEnvironmentIsLost() throws {
        let f = try Self.populated()
        try f.insert([["id": 500, "color": "blue", "size": 1]])
        f.registry.closeAll()
        try FileManager.default.removeItem(atPath: f.dir + "/database/data/indexes")
        let registry = try DatabaseRegistry(dataDir: f.dir + "/database", mapSize: 1 << 28)
        defer { registry.closeAll() }
        let env = try #require(try registry.database("data"))
        try env.reconcileIndexes()
        #expect(try env.lmdb.read { try env.indexBacklogCount($0) } == 201, "every record waits")
        #expect(try env.catchUpIndexesNow() == 201)
        let found = try env.lmdb.read {
            try env.search($0, table: "dog", condition: .leaf(attribute: "color", comparator: .equals, value: "blue"), options: .init())
        }
        #expect(found.count == 51)
        #expect(try env.lmdb.read { txn in try env.candidates(txn, env.requireTable(txn, "dog"), .leaf(attribute: "color", comparator: .equals, value: "blue")) }?.count == 51)
    }

    /// Index commits are synced after them (`IndexSyncMarker`): "open" from an earlier
    /// boot (an OS crash before the sync) means the environment may be corrupt, so it is
    /// emptied and rebuilt; from this boot (the store was killed) it is kept and synced.
    @Test(arguments: [false, true])
    func anIndexCommitNotSyncedBeforeARestartIsHandledByBoot(sameBoot: Bool) throws {
        let f = try Self.populated()
        try f.insert([["id": 500, "color": "blue", "size": 1]])
        try f.catchUpIndexes()
        f.registry.closeAll()
        let marker = IndexSyncMarker(directory: f.dir + "/database/data/indexes")
        #expect(marker.state() == .synced)
        try marker.markOpen(boot: sameBoot ? IndexSyncMarker.currentBoot : "an-earlier-boot")
        #expect(marker.state() == (sameBoot ? .openThisBoot : .openEarlierBoot))
        let registry = try DatabaseRegistry(dataDir: f.dir + "/database", mapSize: 1 << 28)
        defer { registry.closeAll() }
        let env = try #require(try registry.database("data"))
        #expect(marker.state() == .synced)
        try env.reconcileIndexes()
        #expect(try env.lmdb.read { try env.indexBacklogCount($0) } == (sameBoot ? 0 : 201), sameBoot ? "kept" : "every record waits")
        #expect(try env.catchUpIndexesNow() == (sameBoot ? 0 : 201))
        let found = try env.lmdb.read { txn in try env.candidates(txn, env.requireTable(txn, "dog"), .leaf(attribute: "color", comparator: .equals, value: "blue")) }
        #expect(found?.count == 51)
        #expect(marker.state() == .synced, "each catch-up is synced before it returns")
    }

    @Test func indexesLeftInTheDataEnvironmentByAnOlderVersionAreRebuilt() throws {
        let f = try Self.populated()
        // An older layout: indexes in the data environment, tables without a storage identity.
        try f.write { txn, _ in
            let db = try #require(try txn.database(StorageLayout.index("dog", "color"), create: true, dupSort: true))
            try txn.put(db, KeyCodec.encode("red")!, KeyCodec.encode(0)!)
            var schema = try #require(try f.env.table(txn, "dog"))
            schema.storageID = nil
            try f.env.putTable(txn, schema)
        }
        try f.env.reconcileIndexes()
        #expect(try !f.env.lmdb.databaseNames().contains { $0.hasPrefix("i:") })
        #expect(try f.read { try f.env.table($0, "dog") }?.storageID != nil)
        try Self.expectExact(f, "everything waits")
        try f.catchUpIndexes()
        try Self.expectExact(f, "rebuilt")
    }

    @Test func aDroppedTablesIndexesGoAndANewTableOfTheNameStartsEmpty() throws {
        let f = try Self.populated()
        let oldID = try #require(try f.read { try f.env.table($0, "dog") }?.storageID)
        try f.write { txn, ctx in _ = try f.env.dropTable(txn, name: "dog", context: ctx) }
        try f.createTable()
        try f.insert([["id": 1, "color": "red"]])
        try f.catchUpIndexes()
        #expect(try !f.env.indexes!.lmdb.databaseNames().contains { $0.contains(oldID) })
        try Self.expectExact(f, "new table")
        #expect(try Self.indexEntries(f, "color") == 1)
    }

    /// A catch-up puts each index's pairs in LMDB's order (key by memcmp then the shorter
    /// first, then value likewise), whatever their lengths and shared prefixes.
    /// `shared`: every key starts with that many equal bytes, so the sort's buckets are
    /// taken from the first byte, from `hi` and `lo` together, from `lo`, or not at all
    /// (`PairRun.sort`); 3,000 pairs take the bucketed path, 1,000 the comparisons alone.
    @Test(arguments: [(0, 3000), (7, 3000), (10, 3000), (16, 3000), (0, 1000)])
    func pairsComeOutInLMDBsOrder(shared: Int, count: Int) throws {
        var rng = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = [0, 1, 0x41, 0xFF]
        func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in alphabet.randomElement(using: &rng)! } }
        let prefix = [UInt8](repeating: 0x41, count: shared)
        var run = PairRun()
        var expected: [([UInt8], [UInt8])] = []
        for _ in 0..<count {
            // Keys of 0-24 bytes that often share their first 16.
            let key = prefix + (Bool.random() ? [UInt8](repeating: 0x41, count: 16) : []) + bytes(Int.random(in: 0...8))
            let value = bytes(Int.random(in: 0...3))
            run.append(key, value[...])
            expected.append((key, value))
        }
        expected.sort { a, b in
            let c = PairRun.compare(a.0, b.0)
            return c != 0 ? c < 0 : PairRun.compare(a.1, b.1) < 0
        }
        var got: [([UInt8], [UInt8])] = []
        try run.inOrder { k, v in got.append((Array(k), Array(v))) }
        #expect(got.map(\.0) == expected.map(\.0) && got.map(\.1) == expected.map(\.1))
    }
}
