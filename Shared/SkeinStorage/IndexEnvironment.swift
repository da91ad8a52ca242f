import Foundation
import SkeinCore
import SkeinLMDB

/// The secondary indexes of one database, in an LMDB environment of their own
/// (`NAME/indexes/`), written only by the store's index worker.
///
/// Why a second environment: LMDB writes every page a transaction dirtied at its commit,
/// and a catch-up dirties thousands of index pages. In the data environment that commit
/// held up every write behind it (a 16k-record catch-up took 0.3-0.5 s on a loaded 3-node
/// cluster); here it runs beside the writer, which only ever commits records, the log
/// and the backlog.
///
/// Contents: each index as two dup-sorted databases (index key → primary key;
/// `TableSchema.storageID`): `i:STORAGE_ID:ATTR`, the main one, and `r:STORAGE_ID:ATTR`, the
/// recent entries; and `__indexer`: `applied` (the number of the last catch-up applied here, 8 bytes BE) and
/// `batch` (that catch-up's records, `CatchUpBatch.encodedKeys`). The data environment's
/// `__meta` `index_confirmed` holds the number of the last catch-up whose backlog entries
/// were settled there (`IndexCatchUp`); `applied` is that or one more.
///
/// Why two databases per index: a catch-up's entries of a random-valued attribute (an
/// amount, a tag, a text) land all over its B-tree, and LMDB writes every page it touches.
/// Into a table of 690k records a 32k-record catch-up touched ~11k of each such index's
/// ~11.5k leaf pages, a page written per record and index, and more as the table grows.
/// Catch-ups add to the recent database instead, a quarter of the main one's size at most;
/// once it reaches that, its entries move into the main one in one pass (`mergeRecentIfDue`),
/// so each main page is written once per merge, not once per catch-up (`add` says which
/// entries skip the recent database). A pair is in one of the two; a removal takes it from
/// whichever holds it, and a search reads both in index order (`IndexScan`).
public final class IndexEnvironment: @unchecked Sendable {
    public let lmdb: LMDBEnvironment
    let metaDB: LMDBDatabase

    static let appliedKey: [UInt8] = Array("applied".utf8)
    static let batchKey: [UInt8] = Array("batch".utf8)

    /// Whether a commit may wait for its sync (see `IndexSyncMarker`).
    let marker: IndexSyncMarker

    init(path: String, mapSize: UInt64) throws {
        marker = IndexSyncMarker(directory: path)
        // Commits here are synced by `write`, after them: an OS crash before such a sync may
        // have left pages LMDB cannot read, so the environment starts again empty and the
        // store rebuilds it (`reconcileIndexes`: `applied` is then behind the data).
        if marker.state() == .openEarlierBoot {
            for file in ["data.mdb", "lock.mdb"] { try? FileManager.default.removeItem(atPath: path + "/" + file) }
        }
        lmdb = try LMDBEnvironment(path: path, mapSize: mapSize, syncedByCaller: true)
        if marker.state() == .openThisBoot {
            // The process stopped before a sync; the kernel still holds what it wrote.
            try lmdb.writeBackAndSync()
            try marker.markSynced()
        }
        metaDB = try Self.write(lmdb, marker) { try $0.database("__indexer", create: true)! }
        // Readers use only cached handles (`LMDBEnvironment.cached`): open every index now.
        for name in try lmdb.databaseNames() where Self.isIndexPart(name) {
            _ = try lmdb.database(name, dupSort: true)
        }
    }

    public static func indexName(_ storageID: String, _ attribute: String) -> String { "i:" + storageID + ":" + attribute }

    /// The recent entries' database of the index named `indexName` (`i:ID:ATTR` → `r:ID:ATTR`).
    static func recentName(_ indexName: String) -> String { "r:" + indexName.dropFirst(2) }

    /// Whether a database of this environment is (a part of) an index.
    static func isIndexPart(_ name: String) -> Bool { name.hasPrefix("i:") || name.hasPrefix("r:") }

    /// Recent entries move into the main database once they are this many, or a quarter
    /// of the main one if that is more (set lower by tests).
    var mergeFloor = 65_536

    /// Below this many entries in an index's main database, catch-ups add to it directly
    /// (set lower by tests).
    var directBelow = 131_072

    func isMergeDue(recent: Int, main: Int) -> Bool { recent >= max(mergeFloor, main / 4) }

    /// Adds a catch-up's entries of one index (in key order). Entries go into the recent
    /// database, except:
    /// - while the main one holds fewer than `directBelow` entries, all go into it: a
    ///   catch-up then touches most of its pages anyway, and through the recent database
    ///   each entry would be put twice;
    /// - entries at or past the main one's last key go into it: an attribute whose values
    ///   grow (a timestamp, a sequence) extends it at its end, where a put writes only its
    ///   last pages.
    func add(_ txn: LMDBTransaction, index name: String, _ run: PairRun) throws {
        let mainDB = try txn.database(name, create: true, dupSort: true)!
        let main = try txn.cursor(mainDB)
        let recent = try txn.database(Self.recentName(name), create: true, dupSort: true)!
        let recentCursor = try txn.cursor(recent)
        let last = try txn.count(mainDB) < directBelow ? nil : try main.last()?.key
        // Keys come in order: once one is at or past the main one's last, so are the rest.
        var atEnd = last == nil
        try (last ?? []).withUnsafeBytes { last in
            try run.inOrder { key, value in
                if !atEnd { atEnd = PairRun.compare(key, last) >= 0 }
                try (atEnd ? main : recentCursor).put(key: key, value: value)
            }
        }
    }

    /// Removes a catch-up's stale entries of one index (in key order), each from whichever
    /// of its two databases holds it.
    func remove(_ txn: LMDBTransaction, index name: String, _ run: PairRun) throws {
        let recent = try txn.database(Self.recentName(name), dupSort: true).map { try txn.cursor($0) }
        let main = try txn.database(name, dupSort: true).map { try txn.cursor($0) }
        guard recent != nil || main != nil else { return }
        // One cursor per database: each change in key order starts from the last one's page.
        try run.inOrder { key, value in
            if try recent?.delete(key: key, value: value) != true { try main?.delete(key: key, value: value) }
        }
    }

    /// Moves an index's recent entries into its main database (in order: each main page is
    /// written once however many entries land on it) when they are due, in a transaction of
    /// its own (after the catch-up's: a merge moves entries, it changes no search's answer).
    /// Why its own: it dirties most of the main database's pages, and LMDB holds a
    /// transaction's dirty pages in memory until the commit; merged in the catch-up's
    /// transaction, all indexes' at once, they were most of a receiving node's heap in a full
    /// copy. Returns how many moved.
    func mergeRecentIfDue(index name: String) throws -> Int {
        let due = try lmdb.read { txn -> Bool in
            guard let main = lmdb.cached(name, in: txn), let recent = lmdb.cached(Self.recentName(name), in: txn) else { return false }
            return try isMergeDue(recent: txn.count(recent), main: txn.count(main))
        }
        guard due else { return 0 }
        return try write { txn in
            guard let main = try txn.database(name, dupSort: true),
                  let recent = try txn.database(Self.recentName(name), dupSort: true) else { return 0 }
            let count = try txn.count(recent)
            guard isMergeDue(recent: count, main: try txn.count(main)) else { return 0 }
            let cursor = try txn.cursor(main)
            try txn.cursor(recent).forEachInPlace { try cursor.put(key: $0, value: $1) }
            try txn.clear(recent)
            return count
        }
    }

    /// The number of the last catch-up applied here (0: none).
    func applied(_ txn: LMDBTransaction) throws -> UInt64 {
        try txn.get(metaDB, Self.appliedKey).map(KeyCodec.decodeUInt64) ?? 0
    }

    /// The record keys (backlog keys) of the last catch-up applied here.
    func lastBatchKeys(_ txn: LMDBTransaction) throws -> [(key: [UInt8], version: [UInt8])] {
        guard let bytes = try txn.get(metaDB, Self.batchKey) else { return [] }
        return CatchUpBatch.decodeKeys(bytes)
    }

    /// The handles of an index's databases valid in `txn`, main and recent (empty: it had
    /// no entries when `txn` began).
    func handles(_ storageID: String, _ attribute: String, in txn: LMDBTransaction) -> [LMDBDatabase] {
        let name = Self.indexName(storageID, attribute)
        return [lmdb.cached(name, in: txn), lmdb.cached(Self.recentName(name), in: txn)].compactMap { $0 }
    }

    /// Runs `body` in a write transaction, commits it without a sync, then writes its pages
    /// back a chunk at a time and syncs (`LMDBEnvironment.writeBackAndSync`), the marker
    /// saying "open" in between. `committed` runs after the commit, before the sync.
    func write<T>(_ body: (LMDBTransaction) throws -> T, committed: () -> Void = {}) throws -> T {
        try Self.write(lmdb, marker, body, committed: committed)
    }

    private static func write<T>(_ lmdb: LMDBEnvironment, _ marker: IndexSyncMarker, _ body: (LMDBTransaction) throws -> T,
                                 committed: () -> Void = {}) throws -> T {
        try marker.markOpen()
        let result = try lmdb.write(body)
        committed()
        try lmdb.writeBackAndSync()
        try marker.markSynced()
        return result
    }

    /// Empties the environment: every index and the catch-up counter (a rebuild).
    func clear() throws {
        let names = try lmdb.databaseNames().filter(Self.isIndexPart)
        try write { txn in
            for name in names {
                if let db = try txn.database(name, dupSort: true) { try txn.drop(db) }
            }
            try txn.delete(metaDB, Self.appliedKey)
            try txn.delete(metaDB, Self.batchKey)
        }
    }
}
