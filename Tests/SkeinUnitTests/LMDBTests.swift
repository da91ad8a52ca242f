import Foundation
import Testing
@testable import SkeinLMDB

@Suite("LMDB bindings")
struct LMDBTests {
    static let mapSize: UInt64 = 1 << 28

    func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }
    func key(_ i: Int) -> [UInt8] { withUnsafeBytes(of: UInt32(i).bigEndian) { Array($0) } }
    func index(_ k: [UInt8]) -> Int { Int(k.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }) }

    /// An environment in a fresh directory with one named database `d`.
    func withEnv<T>(dupSort: Bool = false, _ body: (LMDBEnvironment, LMDBDatabase) throws -> T) throws -> T {
        try withTemporaryDirectory { dir in
            let env = try LMDBEnvironment(path: dir + "/env", mapSize: Self.mapSize)
            defer { env.close() }
            let db = try env.write { try $0.database("d", create: true, dupSort: dupSort)! }
            return try body(env, db)
        }
    }

    @Test func putGetDelete() throws {
        try withEnv { env, db in
            try env.write { txn throws in
                #expect(try txn.put(db, bytes("k1"), bytes("v1")))
                #expect(try txn.put(db, bytes("k2"), bytes("v2")))
                #expect(try txn.get(db, bytes("k1")) == bytes("v1"))
                // Overwrite by default.
                #expect(try txn.put(db, bytes("k1"), bytes("v1b")))
            }
            try env.read { txn throws in
                #expect(try txn.get(db, bytes("k1")) == bytes("v1b"))
                #expect(try txn.get(db, bytes("k2")) == bytes("v2"))
                #expect(try txn.get(db, bytes("nope")) == nil)
            }
            try env.write { txn throws in
                #expect(try txn.delete(db, bytes("k1")))
                #expect(try !txn.delete(db, bytes("k1")))
                #expect(try !txn.delete(db, bytes("never")))
            }
            try env.read { txn throws in
                #expect(try txn.get(db, bytes("k1")) == nil)
                #expect(try txn.get(db, bytes("k2")) == bytes("v2"))
            }
        }
    }

    @Test func emptyValuesAndBinaryKeys() throws {
        try withEnv { env, db in
            try env.write { txn throws in
                try txn.put(db, [0, 0xFF, 0], [])
                try txn.put(db, [0xFF], [0, 1, 2])
            }
            try env.read { txn throws in
                #expect(try txn.get(db, [0, 0xFF, 0]) == [])
                #expect(try txn.get(db, [0xFF]) == [0, 1, 2])
            }
        }
    }

    @Test func noOverwriteReturnsFalseOnExistingKey() throws {
        try withEnv { env, db in
            try env.write { txn throws in
                #expect(try txn.put(db, bytes("k"), bytes("first"), noOverwrite: true))
                #expect(try !txn.put(db, bytes("k"), bytes("second"), noOverwrite: true))
                #expect(try txn.get(db, bytes("k")) == bytes("first"))
            }
        }
    }

    @Test func appendRequiresIncreasingKeys() throws {
        try withEnv { env, db in
            try env.write { txn throws in
                for i in 1...10 { try txn.put(db, key(i), bytes("v\(i)"), append: true) }
                #expect(try txn.count(db) == 10)
                // Appending a smaller key is refused (MDB_KEYEXIST), reported as false.
                #expect(try !txn.put(db, key(3), bytes("x"), append: true))
            }
        }
    }

    @Test func childAbortKeepsParentWritesAndDiscardsChilds() throws {
        try withEnv { env, db in
            try env.write { parent throws in
                try parent.put(db, bytes("parent"), bytes("p"))
                let child = try parent.child()
                try child.put(db, bytes("child"), bytes("c"))
                try child.put(db, bytes("parent"), bytes("overwritten by child"))
                try child.delete(db, bytes("never-there"))
                #expect(try child.get(db, bytes("child")) == bytes("c"))
                child.abort()
                #expect(try parent.get(db, bytes("parent")) == bytes("p"))
                #expect(try parent.get(db, bytes("child")) == nil)
                // A second child that commits joins the parent.
                let second = try parent.child()
                try second.put(db, bytes("second"), bytes("s"))
                try second.commit()
                #expect(try parent.get(db, bytes("second")) == bytes("s"))
            }
            try env.read { txn throws in
                #expect(try txn.get(db, bytes("parent")) == bytes("p"))
                #expect(try txn.get(db, bytes("child")) == nil)
                #expect(try txn.get(db, bytes("second")) == bytes("s"))
            }
        }
    }

    @Test func databaseCreatedInAbortedChildIsForgotten() throws {
        try withEnv { env, _ throws in
            try env.write { parent throws in
                let child = try parent.child()
                #expect(try child.database("ephemeral", create: true) != nil)
                #expect(env.cached("ephemeral") == nil, "not published before a commit")
                #expect(env.cached("ephemeral", in: child) != nil)
                child.abort()
                #expect(env.cached("ephemeral") == nil)
                #expect(try parent.database("ephemeral") == nil)
            }
            #expect(try !namedDatabaseExists(env, "ephemeral"))
        }
    }

    /// A handle opened in a write is visible to other transactions only once the write
    /// committed, and only to those begun after: LMDB refuses (EINVAL) a handle that did
    /// not exist when a transaction began, so a reader must never be handed one.
    @Test func aNewHandleIsPublishedAtCommitToLaterTransactions() throws {
        try withEnv { env, _ throws in
            let before = try env.beginRead()
            defer { before.abort() }
            try env.write { txn throws in
                let db = try #require(try txn.database("fresh", create: true))
                try txn.put(db, bytes("k"), bytes("v"))
                #expect(env.cached("fresh") == nil)
                #expect(env.cached("fresh", in: before) == nil)
            }
            #expect(env.cached("fresh") != nil)
            #expect(env.cached("fresh", in: before) == nil, "a transaction begun before the commit must not get it")
            try env.read { txn throws in
                let db = try #require(env.cached("fresh", in: txn))
                #expect(try txn.get(db, bytes("k")) == bytes("v"))
            }
        }
    }

    @Test func abortedWriteLeavesNothing() throws {
        try withEnv { env, db in
            struct Boom: Error {}
            #expect(throws: Boom.self) {
                try env.write { txn throws in
                    try txn.put(db, bytes("k"), bytes("v"))
                    throw Boom()
                }
            }
            let txn = try env.beginWrite()
            try txn.put(db, bytes("k2"), bytes("v"))
            txn.abort()
            try env.read { txn throws in
                #expect(try txn.get(db, bytes("k")) == nil)
                #expect(try txn.get(db, bytes("k2")) == nil)
                #expect(try txn.count(db) == 0)
            }
        }
    }

    @Test func cursorSeekNextPrev() throws {
        try withEnv { env, db in
            try env.write { txn throws in
                for i in stride(from: 10, through: 100, by: 10) { try txn.put(db, key(i), bytes("v\(i)")) }
            }
            try env.read { txn throws in
                let c = try txn.cursor(db)
                #expect(try c.first().map { index($0.key) } == 10)
                #expect(try c.next().map { index($0.key) } == 20)
                #expect(try c.prev().map { index($0.key) } == 10)
                #expect(try c.prev() == nil)
                #expect(try c.last().map { index($0.key) } == 100)
                #expect(try c.next() == nil)
                // Seek positions at the first key >= the given one.
                let hit = try c.seek(key(35))
                #expect(hit.map { index($0.key) } == 40)
                #expect(hit?.value == bytes("v40"))
                #expect(try c.next().map { index($0.key) } == 50)
                #expect(try c.prev().map { index($0.key) } == 40)
                #expect(try c.prev().map { index($0.key) } == 30)
                #expect(try c.seek(key(50)).map { index($0.key) } == 50)
                #expect(try c.seek(key(101)) == nil)
                #expect(try c.seek(key(0)).map { index($0.key) } == 10)
                // Walk everything forward and backward.
                var forward: [Int] = []
                var e = try c.first()
                while let (k, _) = e { forward.append(index(k)); e = try c.next() }
                #expect(forward == Array(stride(from: 10, through: 100, by: 10)))
                var backward: [Int] = []
                e = try c.last()
                while let (k, _) = e { backward.append(index(k)); e = try c.prev() }
                #expect(backward == forward.reversed())
            }
        }
    }

    @Test func cursorOnEmptyDatabase() throws {
        try withEnv { env, db in
            try env.read { txn throws in
                let c = try txn.cursor(db)
                #expect(try c.first() == nil)
                #expect(try c.last() == nil)
                #expect(try c.seek([0]) == nil)
                #expect(try c.next() == nil)
            }
        }
    }

    /// Puts and deletes through one cursor (the index catch-up's way) leave exactly the
    /// pairs a set model holds, in any order, with absent pairs' deletes doing nothing.
    @Test func cursorPutsAndDeletesMatchAModel() throws {
        try withEnv(dupSort: true) { env, db in
            var model = Set<[UInt8]>()
            var random = SystemRandomNumberGenerator()
            func pair(_ k: Int, _ v: Int) -> ([UInt8], [UInt8]) { (key(k), key(v)) }
            for round in 0..<4 {
                var puts = (0..<2000).map { _ in pair(Int.random(in: 0..<300, using: &random), Int.random(in: 0..<50, using: &random)) }
                if round % 2 == 0 { puts.sort { $0.0 != $1.0 ? $0.0.lexicographicallyPrecedes($1.0) : $0.1.lexicographicallyPrecedes($1.1) } }
                let deletes = (0..<1500).map { _ in pair(Int.random(in: 0..<300, using: &random), Int.random(in: 0..<50, using: &random)) }
                try env.write { txn throws in
                    let cursor = try txn.cursor(db)
                    for (k, v) in puts {
                        try k.withUnsafeBytes { kb in try v.withUnsafeBytes { vb in try cursor.put(key: kb, value: vb) } }
                        model.insert(k + v)
                    }
                    for (k, v) in deletes {
                        try k.withUnsafeBytes { kb in try v.withUnsafeBytes { vb in try cursor.delete(key: kb, value: vb) } }
                        model.remove(k + v)
                    }
                }
                var stored = Set<[UInt8]>()
                try env.read { txn throws in
                    let cursor = try txn.cursor(db)
                    var entry = try cursor.first()
                    while let (k, v) = entry {
                        stored.insert(k + v)
                        entry = try cursor.next()
                    }
                }
                #expect(stored == model, "round \(round)")
            }
        }
    }

    @Test func dupSortedDatabase() throws {
        try withEnv(dupSort: true) { env, db in
            try env.write { txn throws in
                for v in ["c", "a", "b"] { try txn.put(db, bytes("red"), bytes(v)) }
                try txn.put(db, bytes("blue"), bytes("x"))
                try txn.put(db, bytes("green"), bytes("y"))
                try txn.put(db, bytes("green"), bytes("z"))
                // The same pair twice is one entry.
                try txn.put(db, bytes("red"), bytes("a"))
            }
            try env.read { txn throws in
                #expect(try txn.count(db) == 6)
                let c = try txn.cursor(db)
                let first = try c.seek(bytes("red"))
                #expect(first?.value == bytes("a"))
                #expect(try c.nextDuplicate()?.value == bytes("b"))
                #expect(try c.nextDuplicate()?.value == bytes("c"))
                #expect(try c.nextDuplicate() == nil)
                // nextKey skips the remaining duplicates.
                #expect(try c.seek(bytes("green"))?.value == bytes("y"))
                let n = try c.nextKey()
                #expect(n?.key == bytes("red"))
                #expect(n?.value == bytes("a"))
                // Plain next walks every pair in (key, value) order.
                var all: [String] = []
                var e = try c.first()
                while let (k, v) = e { all.append("\(String(decoding: k, as: UTF8.self))=\(String(decoding: v, as: UTF8.self))"); e = try c.next() }
                #expect(all == ["blue=x", "green=y", "green=z", "red=a", "red=b", "red=c"])
            }
            try env.write { txn throws in
                // Deleting one pair leaves the key's other values.
                #expect(try txn.delete(db, bytes("red"), value: bytes("b")))
                #expect(try !txn.delete(db, bytes("red"), value: bytes("nope")))
                #expect(try txn.get(db, bytes("red")) == bytes("a"))
                // Deleting without a value removes every duplicate.
                #expect(try txn.delete(db, bytes("green")))
                #expect(try txn.count(db) == 3)
            }
        }
    }

    /// auditd prunes with `deleteCurrent(); next()`: after a delete LMDB leaves the cursor on
    /// the following entry and MDB_NEXT must return it, not skip it.
    @Test(arguments: ["every other", "runs", "all", "tail"])
    func deleteInCursorLoopVisitsEveryRemainingEntryOnce(pattern: String) throws {
        let n = 3000
        func shouldDelete(_ i: Int) -> Bool {
            switch pattern {
            case "every other": i % 2 == 0
            case "runs": (i / 97) % 2 == 0 || i % 11 == 0
            case "tail": i >= n - 500
            default: true
            }
        }
        try withEnv { env, db in
            let value = [UInt8](repeating: 0xAB, count: 120) // many pages, so deletes merge pages
            try env.write { txn throws in for i in 0..<n { try txn.put(db, key(i), value) } }
            var visited: [Int] = []
            try env.write { txn throws in
                let c = try txn.cursor(db)
                var e = try c.first()
                while let (k, _) = e {
                    let i = index(k)
                    visited.append(i)
                    if visited.count > n { break } // never loop forever on a broken cursor
                    if shouldDelete(i) { try c.deleteCurrent() }
                    e = try c.next()
                }
            }
            #expect(visited == Array(0..<n), "each entry exactly once, in order")
            let kept = (0..<n).filter { !shouldDelete($0) }
            try env.read { txn throws in
                #expect(try txn.count(db) == kept.count)
                let c = try txn.cursor(db)
                var remaining: [Int] = []
                var e = try c.first()
                while let (k, _) = e { remaining.append(index(k)); e = try c.next() }
                #expect(remaining == kept)
            }
        }
    }

    @Test func countAndByteSize() throws {
        try withEnv { env, db in
            let emptySize = try env.read { try $0.byteSize(db) }
            #expect(emptySize == 0)
            try env.write { txn throws in
                for i in 0..<1000 { try txn.put(db, key(i), [UInt8](repeating: 1, count: 100)) }
                #expect(try txn.count(db) == 1000)
            }
            let (count, size) = try env.read { (try $0.count(db), try $0.byteSize(db)) }
            #expect(count == 1000)
            #expect(size >= 100_000) // 1000 values of 100 bytes live in pages
            try env.write { txn throws in for i in 0..<900 { try txn.delete(db, key(i)) } }
            let smaller = try env.read { try $0.byteSize(db) }
            #expect(smaller < size)
            try env.write { try $0.clear(db) }
            #expect(try env.read { try $0.count(db) } == 0)
        }
    }

    @Test func committedWriteIsVisibleToNewReadTxnOnly() throws {
        try withEnv { env, db in
            try env.write { _ = try $0.put(db, bytes("k"), bytes("old")) }
            try env.read { snapshot throws in
                try env.write { _ = try $0.put(db, bytes("k"), bytes("new")) }
                // A read transaction keeps its snapshot...
                #expect(try snapshot.get(db, bytes("k")) == bytes("old"))
                // ...a new one sees the commit.
                try env.read { fresh throws in #expect(try fresh.get(db, bytes("k")) == bytes("new")) }
            }
        }
    }

    @Test func readsFromOtherThreads() async throws {
        try await withTemporaryDirectoryAsync { dir in
            let env = try LMDBEnvironment(path: dir + "/env", mapSize: Self.mapSize)
            defer { env.close() }
            let db = try env.write { txn throws in
                let db = try txn.database("d", create: true)!
                for i in 0..<100 { try txn.put(db, key(i), bytes("v\(i)")) }
                return db
            }
            let counts = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<8 { group.addTask { try env.read { try $0.count(db) } } }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(counts == Array(repeating: 100, count: 8))
        }
    }

    @Test func reopeningAfterCloseKeepsData() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/env"
            do {
                let env = try LMDBEnvironment(path: path, mapSize: Self.mapSize)
                try env.write { txn throws in
                    let db = try txn.database("persist", create: true)!
                    let dups = try txn.database("dups", create: true, dupSort: true)!
                    try txn.put(db, bytes("k"), bytes("v"))
                    try txn.put(dups, bytes("k"), bytes("1"))
                    try txn.put(dups, bytes("k"), bytes("2"))
                }
                env.close()
                env.close() // idempotent
            }
            let env = try LMDBEnvironment(path: path, mapSize: Self.mapSize)
            defer { env.close() }
            let db = try #require(try env.database("persist"))
            let dups = try #require(try env.database("dups", dupSort: true))
            try env.read { txn throws in
                #expect(try txn.get(db, bytes("k")) == bytes("v"))
                #expect(try txn.count(dups) == 2)
            }
            #expect(env.fileSize > 0)
        }
    }

    @Test func dropRemovesNamedDatabase() throws {
        try withEnv { env, db in
            try env.write { txn throws in
                let other = try txn.database("other", create: true)!
                try txn.put(other, bytes("k"), bytes("v"))
                try txn.put(db, bytes("k"), bytes("v"))
            }
            #expect(try namedDatabaseExists(env, "other"))
            try env.write { txn throws in try txn.drop(try txn.database("other")!) }
            #expect(try !namedDatabaseExists(env, "other"))
            #expect(try namedDatabaseExists(env, "d"))
            #expect(env.cached("other") == nil)
            #expect(try env.write { try $0.database("other") } == nil)
        }
    }

    @Test
    func databaseNamesListsNamedDatabases() throws {
        try withEnv { env, _ throws in
            try env.write { _ = try $0.database("other", create: true, dupSort: true) }
            #expect(Set(try env.databaseNames()) == ["d", "other"])
        }
    }

    @Test
    func databaseLookupOfMissingNameReturnsNil() throws {
        try withEnv { env, _ throws in
            #expect(try env.database("absent") == nil)
            #expect(try env.database("d") != nil)
        }
    }

    /// A cursor step that fails (here: its transaction failed on a full map) throws; only
    /// `MDB_NOTFOUND` is the end of the data (security review F19).
    @Test func aCursorErrorIsNotTheEndOfData() throws {
        try withTemporaryDirectory { dir in
            let env = try LMDBEnvironment(path: dir + "/env", mapSize: 64 * 1024)
            defer { env.close() }
            let db = try env.write { txn throws in
                let db = try txn.database("d", create: true)!
                for i in 0..<3 { try txn.put(db, key(i), bytes("v")) }
                return db
            }
            let txn = try env.beginWrite()
            defer { txn.abort() }
            let cursor = try txn.cursor(db)
            #expect(try cursor.first()?.key == key(0))
            var full = false
            for i in 3..<10_000 {
                do { try txn.put(db, key(i), [UInt8](repeating: 0, count: 100)) } catch { full = true; break }
            }
            #expect(full)
            #expect(throws: LMDBError.self) { try cursor.next() }
            #expect(throws: LMDBError.self) { try cursor.seek(key(1)) }
            // In a healthy transaction the end of the data is nil, not an error.
            try env.read { r throws in
                let c = try r.cursor(db)
                #expect(try c.seek(key(2))?.key == key(2))
                #expect(try c.next() == nil)
            }
        }
    }

    @Test func errorsCarryLMDBMessage() throws {
        try withTemporaryDirectory { dir in
            let env = try LMDBEnvironment(path: dir + "/env", mapSize: 64 * 1024)
            defer { env.close() }
            do {
                try env.write { txn throws in
                    let db = try txn.database("d", create: true)!
                    for i in 0..<10_000 { try txn.put(db, key(i), [UInt8](repeating: 0, count: 100)) }
                }
                Issue.record("expected MDB_MAP_FULL")
            } catch let error as LMDBError {
                #expect(error.isMapFull)
                #expect(error.description.contains("MDB_MAP_FULL"))
            }
        }
    }
}

func withTemporaryDirectoryAsync<T>(_ body: (String) async throws -> T) async throws -> T {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("skein-ut-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

@Suite("Directory sync")
struct DirectorySyncTests {
    @Test func syncsADirectoryAndRefusesWhatIsNotOne() throws {
        try withTemporaryDirectory { dir in
            try DirectorySync.sync(dir)
            #expect(throws: LMDBError.self) { try DirectorySync.sync(dir + "/missing") }
            FileManager.default.createFile(atPath: dir + "/file", contents: Data())
            #expect(throws: LMDBError.self) { try DirectorySync.sync(dir + "/file") }
        }
    }
}
