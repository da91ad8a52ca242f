import Foundation
import SkeinCore
import SkeinLMDB
import SkeinReplication

/// Secondary indexes are brought up to date in batches (catch-ups), not by every write.
///
/// Why: an index entry of a random value (an amount, a tag, a text) lands on a random page
/// of its B-tree, and LMDB copies and writes every page a transaction touches. Indexed per
/// write, a record of eight attributes costed ~4 pages (17 KB) of disk writes. A write now
/// notes its record in the backlog (`__index_backlog`, one small entry in a small tree) in
/// its own transaction, and the store's index worker catches the indexes (in their own
/// environment, `IndexEnvironment`) up for thousands of records at once, in key order,
/// where records share the pages they touch.
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

    /// A backlog key's table prefix (`prefix(table)`: the name and its zero byte) and record
    /// key, as slices of it (no copies: readers walk the backlog in key order and compare
    /// each prefix with the last one to notice a new table).
    static func parts(_ key: [UInt8]) -> (prefix: ArraySlice<UInt8>, record: ArraySlice<UInt8>)? {
        guard let zero = key.firstIndex(of: 0) else { return nil }
        return (key[...zero], key[(zero + 1)...])
    }

    /// The table name of a backlog key's prefix.
    static func table(_ prefix: ArraySlice<UInt8>) -> String { String(decoding: prefix.dropLast(), as: UTF8.self) }

    /// Notes that the record under `key` changes; `previous` is its JSON before this write
    /// (nil: there was none). Only the first change since the last catch-up is kept.
    /// `prefix` is the table's (`prefix(table)`, made once per write, not per record).
    static func note(_ txn: LMDBTransaction, _ db: LMDBDatabase, prefix: [UInt8], key: [UInt8], previous: ArraySlice<UInt8>?) throws {
        var value: [UInt8] = [previous == nil ? 0 : 1]
        if let previous { value.append(contentsOf: previous) }
        try txn.put(db, prefix + key, value, noOverwrite: true)
    }

    /// The most records one catch-up takes (its memory: their index keys and values).
    public static let catchUpLimit = 32_768

    /// Records a catch-up's settling takes per writer job (`confirmCatchUp(_:_:part:)`).
    public static let settlePart = 2_048
}


/// Where an applied catch-up's time went: its puts (and removals), the commit (its pages
/// handed to the kernel, no sync), and writing them back and syncing
/// (`LMDBEnvironment.writeBackAndSync`).
public struct CatchUpTimings: Sendable {
    public var putNanos: UInt64 = 0
    public var writeBackNanos: UInt64 = 0
    public var commitNanos: UInt64 = 0
    /// Entries moved from recent databases into main ones (`IndexEnvironment.mergeRecentIfDue`).
    public var mergedEntries = 0
}

/// One catch-up, prepared from a snapshot of the data environment (`prepareCatchUp`),
/// applied to the index environment (`applyCatchUp`), then settled in the data
/// environment's backlog (`confirmCatchUp`) by the writer: entries of records unchanged
/// since the snapshot go, the others now say what the indexes hold (the snapshot's value).
/// Only the confirm runs on the writer, and it is small.
public struct CatchUpBatch: @unchecked Sendable {
    /// The catch-up's number: the data environment's `index_confirmed` + 1.
    public let number: UInt64
    /// Each record taken: its backlog key and its stored version at the snapshot
    /// (`StoredRecord` header bytes, empty when there was no record). Its JSON then is read
    /// again from the snapshot when the settling needs it (`confirmCatchUp`): kept here, a
    /// 32,768-record catch-up held ~15 MB of records that are rarely needed.
    struct Item {
        let key: [UInt8]
        let version: [UInt8]
    }
    var items: [Item] = []
    /// Per index (`IndexEnvironment.indexName`): entries to remove and to add.
    var removals: [String: PairRun] = [:]
    var additions: [String: PairRun] = [:]
    /// The indexes that exist at the snapshot; any other `i:` index is dropped.
    var live: [String: TableSchema] = [:]
    /// The data environment's `index_drops` at the snapshot (cleared by the confirm if unchanged).
    var drops: [UInt8]? = nil

    public var count: Int { items.count }

    /// Where the next catch-up starts (`prepareCatchUp(after:)`): after this one's last key,
    /// or nil (from the first) when it took every record waiting. Catch-ups go round the
    /// backlog: taken always from the first key, a record with a late key (a client writing
    /// at the end of the key space) waited while earlier keys kept arriving.
    public var resumeAfter: [UInt8]? = nil

    /// The parts it is settled in, one writer job each (the last one even when empty).
    public var settleParts: [Range<Int>] {
        let parts = stride(from: 0, to: items.count, by: IndexBacklog.settlePart).map { $0..<min(items.count, $0 + IndexBacklog.settlePart) }
        return parts.isEmpty ? [0..<0] : parts
    }
    /// Index entries removed and added.
    var entryCount: Int { removals.values.reduce(0) { $0 + $1.count } + additions.values.reduce(0) { $0 + $1.count } }

    /// `[u16 key length][key][u8 version length][version]` per record: what a restart needs
    /// to settle a catch-up that was applied but not confirmed.
    var encodedKeys: [UInt8] {
        var out: [UInt8] = []
        for item in items {
            out.append(UInt8(item.key.count >> 8))
            out.append(UInt8(item.key.count & 0xFF))
            out.append(contentsOf: item.key)
            out.append(UInt8(item.version.count))
            out.append(contentsOf: item.version)
        }
        return out
    }

    static func decodeKeys(_ bytes: [UInt8]) -> [(key: [UInt8], version: [UInt8])] {
        var out: [(key: [UInt8], version: [UInt8])] = []
        var i = 0
        while i + 2 <= bytes.count {
            let n = Int(bytes[i]) << 8 | Int(bytes[i + 1])
            guard i + 2 + n + 1 <= bytes.count else { break }
            let key = Array(bytes[(i + 2)..<(i + 2 + n)])
            let m = Int(bytes[i + 2 + n])
            guard i + 3 + n + m <= bytes.count else { break }
            out.append((key, Array(bytes[(i + 3 + n)..<(i + 3 + n + m)])))
            i += 3 + n + m
        }
        return out
    }
}

extension DatabaseEnvironment {
    static let indexConfirmedKey: [UInt8] = Array("index_confirmed".utf8)
    /// Set (a counter) when a table or attribute was dropped: the next catch-up runs even
    /// with an empty backlog, to drop their indexes.
    static let indexDropsKey: [UInt8] = Array("index_drops".utf8)

    /// Notes that indexes of a dropped table or attribute are to go.
    func noteIndexDrop(_ txn: LMDBTransaction) throws {
        let n = try txn.get(metaDB, Self.indexDropsKey).map(KeyCodec.decodeUInt64) ?? 0
        try txn.put(metaDB, Self.indexDropsKey, KeyCodec.encodeUInt64(n + 1))
    }

    /// Records whose index entries wait for a catch-up.
    public func indexBacklogCount(_ txn: LMDBTransaction) throws -> Int {
        try txn.count(backlogDB)
    }

    /// The number of the last catch-up settled in this environment.
    func indexConfirmed(_ txn: LMDBTransaction) throws -> UInt64 {
        try txn.get(metaDB, Self.indexConfirmedKey).map(KeyCodec.decodeUInt64) ?? 0
    }

    /// A table's records handle: one the writer opened (readers use only those, see
    /// `readHandle`), or opened here in a write transaction.
    func recordsHandle(_ txn: LMDBTransaction, _ table: String) throws -> LMDBDatabase? {
        try readHandle(txn, StorageLayout.records(table)) ?? (txn.readOnly ? nil : txn.database(StorageLayout.records(table)))
    }

    /// The stored record's header (version and origin), the identity of one write of it.
    static func versionBytes(_ stored: UnsafeRawBufferPointer) -> [UInt8] {
        guard stored.count >= 9, stored.count >= 9 + Int(stored[8]) else { return [] }
        return Array(stored[0..<(9 + Int(stored[8]))])
    }

    /// Whether the stored record `stored` has the header `version` (`versionBytes` without a copy).
    static func hasVersion(_ stored: UnsafeRawBufferPointer, _ version: [UInt8]) -> Bool {
        guard stored.count >= 9, stored.count >= 9 + Int(stored[8]) else { return version.isEmpty }
        return version.count == 9 + Int(stored[8]) && version.withUnsafeBytes { memcmp($0.baseAddress!, stored.baseAddress!, $0.count) == 0 }
    }

    /// Up to `limit` records of the backlog and their index changes, read in `txn` (a
    /// snapshot; nothing is written), which stays open until the catch-up is settled
    /// (`confirmCatchUp` reads records from it). Nil when nothing waits. `after`: the last
    /// catch-up's `resumeAfter`; the records taken are those after it in key order, then
    /// from the first key round to where it started.
    public func prepareCatchUp(_ txn: LMDBTransaction, limit: Int = IndexBacklog.catchUpLimit, after: [UInt8]? = nil) throws -> CatchUpBatch? {
        let drops = try txn.get(metaDB, Self.indexDropsKey)
        guard try txn.count(backlogDB) > 0 || drops != nil else { return nil }
        var batch = CatchUpBatch(number: try indexConfirmed(txn) + 1)
        batch.drops = drops
        for schema in try tables(txn) {
            if let id = schema.storageID { batch.live[id] = schema }
        }
        // The backlog is in key order, table name first: one table's records come together.
        // After `after` to the end, then round from the first key up to where it started, so
        // a catch-up takes `limit` records whenever that many wait (a small one costs nearly
        // as many index pages as a full one). A table met in both passes keeps one part.
        var tables: [CatchUpTable?] = []
        var tableIndex: [ArraySlice<UInt8>: Int] = [:]
        var current = -1
        var currentPrefix: ArraySlice<UInt8> = []
        let cursor = try txn.cursor(backlogDB)
        var entry = try after.map { a throws(LMDBError) in try cursor.seek(a) } ?? cursor.first()
        if let after, let (k, _) = entry, k.elementsEqual(after) { entry = try cursor.next() }
        var roundAgain = after != nil
        // Once round again: the first key taken before (nil: none was, the round is whole).
        var startedAt: [UInt8]? = nil
        var tookAll = false
        while batch.items.count < limit {
            guard let (k, v) = entry else {
                guard roundAgain else { tookAll = true; break }
                roundAgain = false
                startedAt = batch.items.first?.key
                entry = try cursor.first()
                continue
            }
            if let startedAt, !k.lexicographicallyPrecedes(startedAt) {
                tookAll = true  // round again to where this catch-up started
                break
            }
            entry = try cursor.next()
            guard let (prefix, key) = IndexBacklog.parts(k) else { continue }
            if prefix != currentPrefix {
                currentPrefix = prefix
                if let i = tableIndex[prefix] {
                    current = i
                } else {
                    tables.append(try CatchUpTable(txn: txn, env: self, name: IndexBacklog.table(prefix)))
                    current = tables.count - 1
                    tableIndex[prefix] = current
                }
            }
            guard tables[current] != nil else {
                batch.items.append(.init(key: k, version: []))
                continue
            }
            // Looked up through the table's cursor, in key order: each from the last one's page.
            let stored = try tables[current]!.records.withValue(key) { (Self.versionBytes($0), StoredRecord.jsonBytes($0)) }
            batch.items.append(.init(key: k, version: stored?.0 ?? []))
            try tables[current]!.note(key: key, old: v.first == 1 ? Array(v.dropFirst()) : nil, new: stored?.1)
        }
        for table in tables { table?.collect(into: &batch) }
        batch.resumeAfter = tookAll ? nil : batch.items.last?.key
        return batch
    }

    /// Writes a prepared catch-up into the index environment (each index's changes in key
    /// order), with its number and record keys, and drops indexes of tables and attributes
    /// gone at its snapshot. Runs on the index worker, beside the writer.
    @discardableResult
    public func applyCatchUp(_ batch: CatchUpBatch) throws -> CatchUpTimings {
        var timings = CatchUpTimings()
        guard let indexes else { return timings }
        let existing = try indexes.lmdb.databaseNames().filter(IndexEnvironment.isIndexPart)
        let started = DispatchTime.now().uptimeNanoseconds
        var put: UInt64 = 0, committed: UInt64 = 0
        try indexes.write({ txn in
            for (name, run) in batch.removals {
                try indexes.remove(txn, index: name, run)
            }
            for (name, run) in batch.additions {
                try indexes.add(txn, index: name, run)
            }
            for name in existing where !Self.isLive(name, batch.live) {
                if let db = try txn.database(name, dupSort: true) { try txn.drop(db) }
            }
            try txn.put(indexes.metaDB, IndexEnvironment.appliedKey, KeyCodec.encodeUInt64(batch.number))
            try txn.put(indexes.metaDB, IndexEnvironment.batchKey, batch.encodedKeys)
            put = DispatchTime.now().uptimeNanoseconds
        }, committed: { committed = DispatchTime.now().uptimeNanoseconds })
        // Its pages go to the disk a chunk at a time after the commit, then one sync
        // (`IndexEnvironment.write`): the data environment's syncs wait less.
        timings.putNanos = put - started
        timings.commitNanos = committed - put
        timings.writeBackNanos = DispatchTime.now().uptimeNanoseconds - committed
        for name in batch.additions.keys.sorted() {
            timings.mergedEntries += try indexes.mergeRecentIfDue(index: name)
        }
        return timings
    }

    /// Whether an index database named `i:ID:ATTR` or `r:ID:ATTR` belongs to a table and
    /// attribute that exist.
    static func isLive(_ name: String, _ live: [String: TableSchema]) -> Bool {
        let parts = name.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let schema = live[String(parts[1])] else { return false }
        let attribute = String(parts[2])
        return schema.isIndexed(attribute) && schema.attributes.contains(attribute)
    }

    /// Settles an applied catch-up in the backlog, in the writer's transaction: a record
    /// unchanged since the snapshot leaves the backlog; a changed one's entry now holds the
    /// snapshot's value (what the indexes hold). Skipped unless it is the next catch-up.
    ///
    /// `part`: the items settled by this call (all when nil); the catch-up counts as settled
    /// (`index_confirmed`) with its last part. The store settles in parts of `settlePart`
    /// items, one writer job each: a 32k-record catch-up settled in one job held every write
    /// behind it for 100-200 ms. Between parts, searches treat the catch-up's records as
    /// waiting (`BacklogView`), and a restart settles the rest (`recoverCatchUp`).
    /// `snapshot`: the read transaction the catch-up was prepared in (any thread may use it
    /// while its owner waits: `MDB_NOTLS`).
    public func confirmCatchUp(_ txn: LMDBTransaction, _ batch: CatchUpBatch, part: Range<Int>? = nil, snapshot: LMDBTransaction) throws {
        guard try indexConfirmed(txn) + 1 == batch.number else { return }
        let part = part ?? batch.items.indices
        try settle(txn, batch.items[part].lazy.map { ($0.key, $0.version) }) { i in
            // Changed since the snapshot: the entry now says what the indexes hold, the
            // record as the snapshot has it.
            let item = batch.items[part.lowerBound + i]
            var value: [UInt8] = [0]
            if !item.version.isEmpty, let (prefix, record) = IndexBacklog.parts(item.key),
               let db = try recordsHandle(snapshot, IndexBacklog.table(prefix)),
               let json = try snapshot.get(db, Array(record)).flatMap(StoredRecord.jsonBytes) {
                value = [1]
                value.append(contentsOf: json)
            }
            try txn.put(backlogDB, item.key, value)
        }
        guard part.upperBound == batch.items.count else { return }
        if let drops = batch.drops, try txn.get(metaDB, Self.indexDropsKey) == drops { try txn.delete(metaDB, Self.indexDropsKey) }
        try txn.put(metaDB, Self.indexConfirmedKey, KeyCodec.encodeUInt64(batch.number))
    }

    /// After a restart: a catch-up applied to the indexes but not confirmed here is settled
    /// from its record keys. Records changed since keep their backlog entry as it was, so
    /// the indexes may keep a stale entry for them (searches check every candidate, so it
    /// costs a look-up, never a wrong answer).
    func recoverCatchUp(_ txn: LMDBTransaction, number: UInt64, keys: [(key: [UInt8], version: [UInt8])]) throws {
        try settle(txn, keys.lazy.map { ($0.key, $0.version) }) { _ in }
        try txn.put(metaDB, Self.indexConfirmedKey, KeyCodec.encodeUInt64(number))
    }

    /// The backlog entries of a catch-up's records (backlog key and stored version at its
    /// snapshot, in the order taken: key order, from its start round to its end): those of records unchanged since leave the backlog; for the
    /// others `changed` runs (with the item's index). One cursor walks the backlog, and each
    /// table's records handle is looked up once.
    private func settle<Items: Collection>(_ txn: LMDBTransaction, _ items: Items,
                                          changed: (Int) throws -> Void) throws where Items.Element == ([UInt8], [UInt8]) {
        let cursor = try txn.cursor(backlogDB)
        var prefix: ArraySlice<UInt8> = []
        // The records of one table, looked up in key order (the backlog's): each from the
        // last one's page.
        var records: LMDBCursor? = nil
        for (i, (key, version)) in items.enumerated() {
            // Positioned at the entry in place (a seek copied its key and value out).
            guard try cursor.withValue(key[...], { _ in true }) == true, let (keyPrefix, record) = IndexBacklog.parts(key) else { continue }
            if keyPrefix != prefix {
                prefix = keyPrefix
                records = try recordsHandle(txn, IndexBacklog.table(prefix)).map { try txn.cursor($0) }
            }
            let unchanged = try records.flatMap { try $0.withValue(record) { Self.hasVersion($0, version) } } ?? version.isEmpty
            if unchanged {
                try cursor.deleteCurrent()
            } else {
                try changed(i)
            }
        }
    }

    /// Prepares, applies and confirms catch-ups until nothing waits (tests, start-up).
    /// Not while the store's writer runs: the confirm writes the data environment.
    @discardableResult
    public func catchUpIndexesNow() throws -> Int {
        var total = 0
        var after: [UInt8]? = nil
        while true {
            let snapshot = try lmdb.beginRead()
            defer { snapshot.abort() }
            guard let batch = try prepareCatchUp(snapshot, after: after) else { break }
            after = batch.resumeAfter
            try applyCatchUp(batch)
            try lmdb.write { try confirmCatchUp($0, batch, snapshot: snapshot) }
            total += batch.count
        }
        return total
    }

    /// Start-up (store only): brings the data and index environments into step. An index
    /// environment that is missing, behind or ahead of what the data environment settled,
    /// a table without a storage identity, or indexes left in the data environment by an
    /// older version: the indexes are rebuilt (every record goes into the backlog).
    public func reconcileIndexes() throws {
        guard let indexes else { return }
        let oldIndexes = try lmdb.databaseNames().filter { $0.hasPrefix("i:") }
        let (confirmed, needsRebuild) = try lmdb.read { txn -> (UInt64, Bool) in
            (try indexConfirmed(txn), try !oldIndexes.isEmpty || tables(txn).contains { $0.storageID == nil })
        }
        let (applied, keys) = try indexes.lmdb.read { try (indexes.applied($0), indexes.lastBatchKeys($0)) }
        if !needsRebuild, applied == confirmed { return }
        if !needsRebuild, applied == confirmed + 1 {
            try lmdb.write { try recoverCatchUp($0, number: applied, keys: keys) }
            return
        }
        try indexes.clear()
        try lmdb.write { txn in
            let cursor = try txn.cursor(backlogDB)
            var e = try cursor.first()
            while e != nil {
                try cursor.deleteCurrent()
                e = try cursor.next()
            }
            for name in oldIndexes {
                if let db = try txn.database(name, dupSort: true) { try txn.drop(db) }
            }
            for var schema in try tables(txn) {
                if schema.storageID == nil {
                    schema.storageID = Self.newStorageID()
                    try putTable(txn, schema)
                }
                guard let records = try txn.database(StorageLayout.records(schema.name)) else { continue }
                let rc = try txn.cursor(records)
                var r = try rc.first()
                while let (k, _) = r {
                    try txn.put(backlogDB, IndexBacklog.key(table: schema.name, record: k), [0])
                    r = try rc.next()
                }
            }
            try txn.put(metaDB, Self.indexConfirmedKey, KeyCodec.encodeUInt64(0))
        }
    }

    static func newStorageID() -> String { newLogID() }

    /// Forgets the backlog of a table that is being dropped (its indexes go with it).
    func discardIndexBacklog(_ txn: LMDBTransaction, table: String) throws {
        let prefix = IndexBacklog.prefix(table)
        let cursor = try txn.cursor(backlogDB)
        var entry = try cursor.seek(prefix)
        while let (k, _) = entry, k.starts(with: prefix) {
            try cursor.deleteCurrent()
            entry = try cursor.next()
        }
    }

    /// Keys of `table`'s records in the backlog, in key order.
    func indexBacklog(_ txn: LMDBTransaction, table: String) throws -> WaitingKeys {
        let prefix = IndexBacklog.prefix(table)
        let cursor = try txn.cursor(backlogDB)
        var out = WaitingKeys()
        var entry = try cursor.seek(prefix)
        while let (k, _) = entry, k.starts(with: prefix) {
            out.append(k[prefix.count...])
            entry = try cursor.next()
        }
        return out
    }
}

/// One table's part of a catch-up being prepared: its index changes per attribute, the
/// attributes numbered as records name them (`AttributePositions`: no `String` per member).
private struct CatchUpTable {
    let writer: IndexWriter
    /// The table's records, looked up in key order.
    let records: LMDBCursor
    let storageID: String
    private var positions = AttributePositions()
    /// Whether the attribute at each position is indexed.
    private var indexed: [Bool] = []
    private var removals: [PairRun] = []
    private var additions: [PairRun] = []
    /// A declared table's indexed attributes: a record's reading stops once all were met.
    private let stopAfter: Int

    /// Nil for a table that is gone or has no storage identity (its entries just leave).
    init?(txn: LMDBTransaction, env: DatabaseEnvironment, name: String) throws {
        guard let schema = try env.table(txn, name), let id = schema.storageID, let records = try env.recordsHandle(txn, name) else { return nil }
        writer = IndexWriter(txn: txn, schema: schema)
        self.records = try txn.cursor(records)
        storageID = id
        stopAfter = schema.indexed.map { $0.subtracting([schema.primaryKey]).count } ?? .max
    }

    /// The index changes of the record under `key`: `old` is what the indexes hold for it
    /// (nil: nothing), `new` its JSON now (nil: deleted).
    mutating func note(key: ArraySlice<UInt8>, old: [UInt8]?, new: [UInt8]?) throws {
        guard let old else {
            // A new record (most are): each of its keys is an addition, taken as read.
            guard let new else { return }
            var added = additions
            additions = []
            defer { additions = added }
            try forEachEntry(of: new) { Self.append(&added, $0, $1, key) }
            return
        }
        let before = try entries(of: old)
        let after = try new.map { try entries(of: $0) } ?? []
        for e in before where !after.contains(where: { $0 == e }) { Self.append(&removals, e.position, e.key, key) }
        for e in after where !before.contains(where: { $0 == e }) { Self.append(&additions, e.position, e.key, key) }
    }

    private static func append(_ runs: inout [PairRun], _ position: Int, _ key: [UInt8], _ value: ArraySlice<UInt8>) {
        while runs.count <= position { runs.append(PairRun()) }
        runs[position].append(key, value)
    }

    private mutating func entries(of json: [UInt8]) throws -> [(position: Int, key: [UInt8])] {
        var out: [(position: Int, key: [UInt8])] = []
        try forEachEntry(of: json) { out.append(($0, $1)) }
        return out
    }

    /// Each index key of a record's JSON with its attribute's position.
    private mutating func forEachEntry(of json: [UInt8], _ body: (Int, [UInt8]) throws -> Void) throws {
        try IndexKeys.forEachKey(inRecord: json, maxBytes: IndexWriter.maxIndexKeyBytes, stopAfter: stopAfter, slot: { name -> Int? in
            let p = positions.position(of: name, in: json)
            if p == indexed.count { indexed.append(writer.isIndexed(positions.names[p])) }
            return indexed[p] ? p : nil
        }, body)
    }

    /// Hands the changes to the batch, per index name.
    func collect(into batch: inout CatchUpBatch) {
        for (p, run) in removals.enumerated() where !run.isEmpty {
            batch.removals[IndexEnvironment.indexName(storageID, positions.names[p])] = run
        }
        for (p, run) in additions.enumerated() where !run.isEmpty {
            batch.additions[IndexEnvironment.indexName(storageID, positions.names[p])] = run
        }
    }
}
