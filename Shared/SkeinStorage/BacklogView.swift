import SkeinCore
import SkeinLMDB

/// One search's view of the indexes: a read transaction of the index environment, and of a
/// table's backlog, which records' index entries may be stale, and the index keys of their
/// current values, read once per attribute.
///
/// The index transaction begins after the caller's data transaction, so it may include one
/// catch-up that snapshot has not confirmed (never more: the worker waits for each confirm);
/// that catch-up's records then count as waiting too.
///
/// Under a steady write load tens of thousands of records wait. A search reads only the
/// searched attribute of each, straight from its stored bytes (`IndexKeys.forEachKey`, as
/// the catch-ups read it), keeps their keys in one buffer (`WaitingKeys`) and sorts only
/// the entries in the searched range: parsing every waiting record, and a set and a sort
/// of all their keys, made an indexed search on a table being written take 0.3-0.8 s.
final class BacklogView {
    /// The waiting records' index keys for one attribute.
    struct Entries {
        let waiting: WaitingKeys
        /// Each index key of a waiting record, with the record's position in `waiting`; unsorted.
        let pairs: [(index: [UInt8], record: Int)]

        /// Whether `record`'s entries in the index may be stale (it waits).
        func waits(_ record: [UInt8]) -> Bool { waiting.contains(record) }

        /// The waiting records' entries from `low` on while `inRange`, in index order.
        func sorted(from low: [UInt8], while inRange: ([UInt8]) -> Bool) -> [(index: [UInt8], record: [UInt8])] {
            pairs.filter { !$0.index.lexicographicallyPrecedes(low) && inRange($0.index) }
                .map { ($0.index, Array(waiting[$0.record])) }
                .sorted(by: BacklogView.precedes)
        }
    }

    let indexTxn: LMDBTransaction?
    private let txn: LMDBTransaction
    private let recordsDB: LMDBDatabase?
    private let waiting: WaitingKeys
    private var byAttribute: [String: Entries] = [:]

    init(env: DatabaseEnvironment, txn: LMDBTransaction, table: String) throws {
        var waiting = try env.indexBacklog(txn, table: table)
        var indexTxn: LMDBTransaction? = nil
        if let indexes = env.indexes {
            let itxn = try indexes.lmdb.beginRead()
            if try indexes.applied(itxn) > env.indexConfirmed(txn) {
                let prefix = IndexBacklog.prefix(table)
                var keys = try indexes.lastBatchKeys(itxn).filter { $0.key.starts(with: prefix) }.map { $0.key[prefix.count...] }
                // In key order as the catch-up took them; sorted should that ever change.
                if zip(keys, keys.dropFirst()).contains(where: { !$0.lexicographicallyPrecedes($1) }) {
                    keys = keys.sorted { $0.lexicographicallyPrecedes($1) }
                }
                var applied = WaitingKeys()
                for key in keys { applied.append(key) }
                waiting = WaitingKeys.union(waiting, applied)
            }
            indexTxn = itxn
        }
        self.indexTxn = indexTxn
        self.txn = txn
        self.waiting = waiting
        recordsDB = waiting.isEmpty ? nil : try env.recordsHandle(txn, table)
    }

    deinit { indexTxn?.abort() }

    var isEmpty: Bool { waiting.isEmpty }

    func entries(_ attribute: String) throws -> Entries {
        if let e = byAttribute[attribute] { return e }
        var pairs: [(index: [UInt8], record: Int)] = []
        if let recordsDB {
            let name = Array(attribute.utf8)
            // In key order: each look-up starts from the last one's page.
            let records = try txn.cursor(recordsDB)
            for i in 0..<waiting.count {
                guard let json = try records.withValue(waiting[i], { StoredRecord.jsonBytes($0) }) ?? nil else { continue }
                for key in Self.indexKeys(of: name, in: json) { pairs.append((key, i)) }
            }
        }
        let e = Entries(waiting: waiting, pairs: pairs)
        byAttribute[attribute] = e
        return e
    }

    /// The index keys of the top-level attribute `name` (UTF-8) in a record's JSON: what
    /// `IndexWriter.keys` gives for the parsed record's value (none when it is missing).
    static func indexKeys(of name: [UInt8], in json: [UInt8]) -> [[UInt8]] {
        var out: [[UInt8]] = []
        try? IndexKeys.forEachKey(inRecord: json, maxBytes: IndexWriter.maxIndexKeyBytes, stopAfter: 1, slot: { member -> Int? in
            switch member {
            case .plain(let range): return json[range].elementsEqual(name) ? 0 : nil
            case .escaped(let text): return text.utf8.elementsEqual(name) ? 0 : nil
            }
        }) { _, key in out.append(key) }
        return out
    }

    /// Index order: by index key, then by record key (LMDB's order for duplicates).
    static func precedes(_ a: (index: [UInt8], record: [UInt8]), _ b: (index: [UInt8], record: [UInt8])) -> Bool {
        let c = PairRun.compare(a.index, b.index)
        return c != 0 ? c < 0 : PairRun.compare(a.record, b.record) < 0
    }
}

/// Record keys in byte order, in one buffer (no array per key), found by binary search.
struct WaitingKeys {
    private var bytes: [UInt8] = []
    /// Where each key ends in `bytes`.
    private var ends: [Int] = []

    var count: Int { ends.count }
    var isEmpty: Bool { ends.isEmpty }

    subscript(i: Int) -> ArraySlice<UInt8> { bytes[(i == 0 ? 0 : ends[i - 1])..<ends[i]] }

    /// Adds a key after the others: keys come in ascending order.
    mutating func append<Key: Collection>(_ key: Key) where Key.Element == UInt8 {
        bytes.append(contentsOf: key)
        ends.append(bytes.count)
    }

    func contains(_ key: [UInt8]) -> Bool {
        var low = 0, high = ends.count
        while low < high {
            let mid = (low + high) / 2
            let c = compare(mid, key)
            if c == 0 { return true }
            if c < 0 { low = mid + 1 } else { high = mid }
        }
        return false
    }

    /// The key at `i` against `key` (memcmp order, the shorter first).
    private func compare(_ i: Int, _ key: [UInt8]) -> Int {
        let start = i == 0 ? 0 : ends[i - 1]
        return bytes.withUnsafeBytes { all in
            key.withUnsafeBytes { PairRun.compare(UnsafeRawBufferPointer(rebasing: all[start..<ends[i]]), $0) }
        }
    }

    /// The keys of both, in order, each once.
    static func union(_ a: WaitingKeys, _ b: WaitingKeys) -> WaitingKeys {
        var out = WaitingKeys()
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if j == b.count { out.append(a[i]); i += 1; continue }
            if i == a.count { out.append(b[j]); j += 1; continue }
            if a[i].lexicographicallyPrecedes(b[j]) {
                out.append(a[i]); i += 1
            } else if b[j].lexicographicallyPrecedes(a[i]) {
                out.append(b[j]); j += 1
            } else {
                out.append(a[i]); i += 1; j += 1
            }
        }
        return out
    }
}
