import Foundation
import SkeinCore
import SkeinLMDB

/// Secondary indexes are brought up to date in batches, not by every write.
///
/// Why: an index entry of a random value (an amount, a tag, a text) lands on a random page
/// of its B-tree, and LMDB copies and writes every page a transaction touches. Indexed per
/// write, a record of eight attributes costed ~4 pages (17 KB) of disk writes. A write now
/// notes its record in the backlog (`__index_backlog`, one small entry in a small tree) in
/// its own transaction, and the writer catches the indexes up for thousands of records in
/// one transaction, where records share the pages they touch.
///
/// The backlog entry of a record holds what the indexes reflect for it: its value before
/// the first write since the last catch-up (tag 1 and the record JSON) or nothing (tag 0,
/// no record). Later writes to the same record leave it alone. Catching up removes the
/// index keys of that value and adds those of the record as it is now.
///
/// Searches stay exact: index candidates of a record in the backlog are dropped, and the
/// record is checked against the condition by its current value (`BacklogView`).
public enum IndexBacklog {
    /// Key of a record's backlog entry: table name, a zero byte, the record's key. Table
    /// names never hold a zero byte (`StorageLayout.isValidName`).
    static func key(table: String, record key: [UInt8]) -> [UInt8] {
        var out = prefix(table)
        out.append(contentsOf: key)
        return out
    }

    static func prefix(_ table: String) -> [UInt8] {
        var out = Array(table.utf8)
        out.append(0)
        return out
    }

    /// Table and record key of a backlog key.
    static func split(_ key: [UInt8]) -> (table: String, record: [UInt8])? {
        guard let zero = key.firstIndex(of: 0) else { return nil }
        return (String(decoding: key[..<zero], as: UTF8.self), Array(key[(zero + 1)...]))
    }

    /// Notes that the record under `key` changes; `previous` is its JSON before this write
    /// (nil: there was none). Only the first change since the last catch-up is kept.
    static func note(_ txn: LMDBTransaction, _ db: LMDBDatabase, table: String, key: [UInt8], previous: ArraySlice<UInt8>?) throws {
        var value: [UInt8] = [previous == nil ? 0 : 1]
        if let previous { value.append(contentsOf: previous) }
        try txn.put(db, Self.key(table: table, record: key), value, noOverwrite: true)
    }

    /// A catch-up once this many records wait: large enough that most touched index pages
    /// take many entries each, small enough that searches check few records by value.
    public static let catchUpThreshold = 16_384
}

extension DatabaseEnvironment {
    /// Records whose index entries wait for a catch-up.
    public func indexBacklogCount(_ txn: LMDBTransaction) throws -> Int {
        try txn.count(backlogDB)
    }

    /// Brings the secondary indexes up to date for up to `limit` records of the backlog (of
    /// `table` only, when given), in the caller's write transaction; returns how many.
    /// Index keys come from the records' bytes (no object is built), and each index gets
    /// its changes in key order, so neighbouring keys share the pages just read.
    @discardableResult
    public func catchUpIndexes(_ txn: LMDBTransaction, limit: Int = .max, table only: String? = nil) throws -> Int {
        let cursor = try txn.cursor(backlogDB)
        let start = only.map(IndexBacklog.prefix)
        var entry = start.map { cursor.seek($0) } ?? cursor.first()
        var batch: IndexBatch? = nil
        var done = 0
        while let (k, v) = entry, done < limit {
            if let start, !k.starts(with: start) { break }
            if let (name, key) = IndexBacklog.split(k) {
                if batch?.table != name {
                    try batch?.apply()
                    batch = try table(txn, name).flatMap { schema in
                        try txn.database(StorageLayout.records(name)).map { IndexBatch(txn: txn, schema: schema, records: $0) }
                    }
                }
                try batch?.add(key: key, previous: v.first == 1 ? Array(v.dropFirst()) : nil)
            }
            try cursor.deleteCurrent()
            done += 1
            // MDB_NEXT after a delete moves to the entry that followed the deleted one.
            entry = cursor.next()
        }
        try batch?.apply()
        return done
    }

    /// Forgets the backlog of a table that is being dropped (its indexes go with it).
    func discardIndexBacklog(_ txn: LMDBTransaction, table: String) throws {
        let prefix = IndexBacklog.prefix(table)
        let cursor = try txn.cursor(backlogDB)
        var entry = cursor.seek(prefix)
        while let (k, _) = entry, k.starts(with: prefix) {
            try cursor.deleteCurrent()
            entry = cursor.next()
        }
    }

    /// Keys of `table`'s records in the backlog, in key order.
    func indexBacklog(_ txn: LMDBTransaction, table: String) throws -> [[UInt8]] {
        let prefix = IndexBacklog.prefix(table)
        let cursor = try txn.cursor(backlogDB)
        var out: [[UInt8]] = []
        var entry = cursor.seek(prefix)
        while let (k, _) = entry, k.starts(with: prefix) {
            out.append(Array(k[prefix.count...]))
            entry = cursor.next()
        }
        return out
    }
}

/// One search's view of a table's index backlog: which records' index entries may be stale,
/// and the index keys of their current values, read once per attribute.
final class BacklogView {
    /// Index keys of the backlog's records for one attribute, sorted as the index is.
    struct Entries {
        let records: Set<[UInt8]>
        let sorted: [(index: [UInt8], record: [UInt8])]
    }

    private let records: [(key: [UInt8], fields: [String: JSON])]
    private let keys: Set<[UInt8]>
    private var byAttribute: [String: Entries] = [:]

    init(env: DatabaseEnvironment, txn: LMDBTransaction, table: String) throws {
        let keys = try env.indexBacklog(txn, table: table)
        var records: [(key: [UInt8], fields: [String: JSON])] = []
        // Readers use only handles the writer opened (`readHandle`); a write transaction may open one.
        if !keys.isEmpty, let db = try env.readHandle(txn, StorageLayout.records(table)) ?? (txn.readOnly ? nil : txn.database(StorageLayout.records(table))) {
            for key in keys {
                let fields = try txn.get(db, key).flatMap(StoredRecord.decode)?.value.objectValue ?? [:]
                records.append((key, fields))
            }
        }
        self.records = records
        self.keys = Set(keys)
    }

    var isEmpty: Bool { keys.isEmpty }

    func entries(_ attribute: String) -> Entries {
        if let e = byAttribute[attribute] { return e }
        var sorted: [(index: [UInt8], record: [UInt8])] = []
        for r in records {
            for k in IndexWriter.keys(r.fields[attribute]) { sorted.append((k, r.key)) }
        }
        sorted.sort(by: Self.precedes)
        let e = Entries(records: keys, sorted: sorted)
        byAttribute[attribute] = e
        return e
    }

    /// Index order: by index key, then by record key (LMDB's order for duplicates).
    static func precedes(_ a: (index: [UInt8], record: [UInt8]), _ b: (index: [UInt8], record: [UInt8])) -> Bool {
        a.index == b.index ? a.record.lexicographicallyPrecedes(b.record) : a.index.lexicographicallyPrecedes(b.index)
    }
}

/// One table's share of a catch-up: the index entries to remove and to add, gathered per
/// attribute and applied in key order.
struct IndexBatch {
    let table: String
    private var indexes: IndexWriter
    private let txn: LMDBTransaction
    private let records: LMDBDatabase
    private var removals: [String: PairRun] = [:]
    private var additions: [String: PairRun] = [:]

    init(txn: LMDBTransaction, schema: TableSchema, records: LMDBDatabase) {
        table = schema.name
        indexes = IndexWriter(txn: txn, schema: schema)
        self.txn = txn
        self.records = records
    }

    /// The record under `key` had `previous` (its JSON) in the indexes, nil for nothing.
    mutating func add(key: [UInt8], previous: [UInt8]?) throws {
        let old = try previous.map(indexes.entries) ?? []
        let stored = try txn.get(records, key).flatMap(StoredRecord.jsonBytes)
        let new = try stored.map { try indexes.entries(of: Array($0)) } ?? []
        for e in old where !new.contains(where: { $0 == e }) { removals[e.attribute, default: PairRun()].append(e.key, key) }
        for e in new where !old.contains(where: { $0 == e }) { additions[e.attribute, default: PairRun()].append(e.key, key) }
    }

    mutating func apply() throws {
        for (attribute, run) in removals {
            let db = try indexes.handle(attribute)
            try run.inOrder { try txn.delete(db, key: $0, value: $1) }
        }
        for (attribute, run) in additions {
            let db = try indexes.handle(attribute)
            try run.inOrder { try txn.put(db, key: $0, value: $1) }
        }
        removals.removeAll()
        additions.removeAll()
    }
}

/// Key/value pairs in one byte buffer, handed out in LMDB's dup-sorted order (key, then
/// value, each by memcmp). Why not an array of array pairs: sorting those cost more than
/// the puts (reference counting at every move).
struct PairRun {
    private var bytes: [UInt8] = []
    private var pairs: [(start: Int, keyCount: Int, valueCount: Int)] = []

    mutating func append(_ key: [UInt8], _ value: [UInt8]) {
        pairs.append((bytes.count, key.count, value.count))
        bytes.append(contentsOf: key)
        bytes.append(contentsOf: value)
    }

    func inOrder(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void) throws {
        try bytes.withUnsafeBytes { raw in
            func key(_ p: (start: Int, keyCount: Int, valueCount: Int)) -> UnsafeRawBufferPointer {
                UnsafeRawBufferPointer(rebasing: raw[p.start..<(p.start + p.keyCount)])
            }
            func value(_ p: (start: Int, keyCount: Int, valueCount: Int)) -> UnsafeRawBufferPointer {
                UnsafeRawBufferPointer(rebasing: raw[(p.start + p.keyCount)..<(p.start + p.keyCount + p.valueCount)])
            }
            let sorted = pairs.sorted { a, b in
                let c = Self.compare(key(a), key(b))
                return c != 0 ? c < 0 : Self.compare(value(a), value(b)) < 0
            }
            for p in sorted { try body(key(p), value(p)) }
        }
    }

    /// memcmp, then the shorter first.
    static func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let n = min(a.count, b.count)
        let c = n == 0 ? 0 : Int(memcmp(a.baseAddress!, b.baseAddress!, n))
        return c != 0 ? c : a.count - b.count
    }
}
