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
/// Contents: `i:STORAGE_ID:ATTR` (dup-sorted: index key → primary key; `TableSchema.storageID`)
/// and `__indexer`: `applied` (the number of the last catch-up applied here, 8 bytes BE) and
/// `batch` (that catch-up's records, `CatchUpBatch.encodedKeys`). The data environment's
/// `__meta` `index_confirmed` holds the number of the last catch-up whose backlog entries
/// were settled there (`IndexCatchUp`); `applied` is that or one more.
public final class IndexEnvironment: @unchecked Sendable {
    public let lmdb: LMDBEnvironment
    let metaDB: LMDBDatabase

    static let appliedKey: [UInt8] = Array("applied".utf8)
    static let batchKey: [UInt8] = Array("batch".utf8)

    init(path: String, mapSize: UInt64) throws {
        // Written by one transaction at a time, never nested: the map itself holds a
        // catch-up's pages, which go to the disk in chunks before it commits.
        lmdb = try LMDBEnvironment(path: path, mapSize: mapSize, writeMap: true)
        metaDB = try lmdb.write { try $0.database("__indexer", create: true)! }
        // Readers use only cached handles (`LMDBEnvironment.cached`): open every index now.
        for name in try lmdb.databaseNames() where name.hasPrefix("i:") {
            _ = try lmdb.database(name, dupSort: true)
        }
    }

    public static func indexName(_ storageID: String, _ attribute: String) -> String { "i:" + storageID + ":" + attribute }

    /// The number of the last catch-up applied here (0: none).
    func applied(_ txn: LMDBTransaction) throws -> UInt64 {
        try txn.get(metaDB, Self.appliedKey).map(KeyCodec.decodeUInt64) ?? 0
    }

    /// The record keys (backlog keys) of the last catch-up applied here.
    func lastBatchKeys(_ txn: LMDBTransaction) throws -> [(key: [UInt8], version: [UInt8])] {
        guard let bytes = try txn.get(metaDB, Self.batchKey) else { return [] }
        return CatchUpBatch.decodeKeys(bytes)
    }

    /// A handle of an index valid in `txn` (nil: it had no entries when `txn` began).
    func handle(_ storageID: String, _ attribute: String, in txn: LMDBTransaction) -> LMDBDatabase? {
        lmdb.cached(Self.indexName(storageID, attribute), in: txn)
    }

    /// Empties the environment: every index and the catch-up counter (a rebuild).
    func clear() throws {
        let names = try lmdb.databaseNames().filter { $0.hasPrefix("i:") }
        try lmdb.write { txn in
            for name in names {
                if let db = try txn.database(name, dupSort: true) { try txn.drop(db) }
            }
            try txn.delete(metaDB, Self.appliedKey)
            try txn.delete(metaDB, Self.batchKey)
        }
    }
}
