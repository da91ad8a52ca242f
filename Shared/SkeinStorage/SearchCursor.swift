import SkeinCore
import SkeinLMDB

/// A search read page by page, so a result of any size never sits in memory whole: the
/// store holds at most one page of records, plus, for a search an index narrows or that is
/// sorted, the primary keys of its candidates (never their records).
///
/// The plan is made once, in the first page's transaction; each page reads the records in
/// its own transaction and checks every one against the condition again, so a page sees the
/// data as of its own read: a record changed meanwhile comes with its newest value if it
/// still matches, a deleted one not at all, and none twice.
public struct SearchCursor: Sendable {
    enum Plan: Sendable {
        /// The whole table in primary-key order, from after `after`.
        case scan(after: [UInt8]?)
        /// These primary keys in this order (an index's candidates, the ids asked for, or
        /// a sorted result), from `next` on.
        case keys([[UInt8]], next: Int)
    }

    public let table: String
    /// nil: every record read is a match (`search_by_id`).
    let condition: SearchCondition?
    let attributes: [String]?
    /// What `*` shows as null where a record lacks it (`DatabaseEnvironment.project`).
    let padding: [String]
    /// Nested selects narrowing object attributes after the projection (`SelectList`).
    var select: SelectList?
    var plan: Plan
    /// The table's TTL (`TableSchema+Expiration.swift`): an expired record is no match.
    var expirationMillis: UInt64?
    /// Matches still to skip (`offset`) and to return (`limit`); a sorted plan applied both.
    var toSkip: Int
    var remaining: Int?
    public private(set) var isFinished = false

    /// `search_by_id`: the records of `ids`, in their order (an id asked twice comes twice).
    public init(env: DatabaseEnvironment, txn: LMDBTransaction, table: String, ids: [JSON], attributes: [String]?) throws {
        let schema = try env.requireTable(txn, table)
        self.init(table: table, condition: nil, attributes: attributes, plan: .keys(ids.compactMap(KeyCodec.encode), next: 0),
                  toSkip: 0, remaining: nil, padding: Self.padding(attributes, schema))
        expirationMillis = schema.expirationMillis
    }

    /// `search_by_value` and `search_by_conditions`.
    public init(env: DatabaseEnvironment, txn: LMDBTransaction, table: String, condition: SearchCondition,
                options: DatabaseEnvironment.SearchOptions) throws {
        let schema = try env.requireTable(txn, table)
        let keys = try env.candidates(txn, schema, condition, backlog: BacklogView(env: env, txn: txn, table: table))
        var seen = Set<[UInt8]>()
        let unique = keys?.filter { seen.insert($0).inserted }
        self.init(table: table, condition: condition, attributes: options.attributes,
                  plan: unique.map { .keys($0, next: 0) } ?? .scan(after: nil), toSkip: options.offset, remaining: options.limit,
                  padding: Self.padding(options.attributes, schema))
        expirationMillis = schema.expirationMillis
        select = options.select
        let sortKeys = options.sortKeys
        if !sortKeys.isEmpty { try sort(env: env, txn: txn, by: sortKeys) }
    }

    init(table: String, condition: SearchCondition?, attributes: [String]?, plan: Plan, toSkip: Int, remaining: Int?, padding: [String] = []) {
        self.table = table
        self.condition = condition
        self.attributes = attributes
        self.padding = padding
        self.plan = plan
        self.toSkip = toSkip
        self.remaining = remaining
        isFinished = remaining == 0
    }

    /// Harper's `*` on a table without declared attributes is every attribute the table has,
    /// null where a record lacks one (ResourceBridge.ts getSelect); a declared table's `*`
    /// is the record as stored.
    static func padding(_ attributes: [String]?, _ schema: TableSchema) -> [String] {
        attributes?.contains("*") == true && schema.indexed == nil ? schema.attributes : []
    }

    /// Up to `maxRows` matches (and about `maxBytes` of stored record bytes, at least one),
    /// read in `txn`. `isFinished` tells whether more may follow.
    public mutating func next(env: DatabaseEnvironment, txn: LMDBTransaction, maxRows: Int = .max, maxBytes: Int = .max) throws -> [JSON] {
        guard !isFinished else { return [] }
        guard let recordsDB = try env.readHandle(txn, StorageLayout.records(table)) else {
            isFinished = true
            return []
        }
        var out: [JSON] = []
        var bytes = 0
        let live = liveness(now: env.clock.nowMillis())
        /// Takes a record if it matches; false when the page is full.
        func take(_ stored: [UInt8]) -> Bool {
            guard let r = StoredRecord.decode(stored), live(r), case .object(let fields) = r.value, condition?.matches(fields) ?? true else { return true }
            if toSkip > 0 {
                toSkip -= 1
                return true
            }
            let projected = DatabaseEnvironment.project(r.value, attributes, padding: padding)
            out.append(select?.narrow(projected) ?? projected)
            bytes += stored.count
            if let r = remaining {
                remaining = r - 1
                if r == 1 { isFinished = true }
            }
            return !isFinished && out.count < maxRows && bytes < maxBytes
        }
        switch plan {
        case .scan(let after):
            let cursor = try txn.cursor(recordsDB)
            var entry = try after.map { key in try cursor.seek(key).flatMap { $0.key == key ? try cursor.next() : $0 } } ?? cursor.first()
            while let (k, v) = entry {
                plan = .scan(after: k)
                guard take(v) else { return out }
                entry = try cursor.next()
            }
        case .keys(let keys, var next):
            while next < keys.count {
                let key = keys[next]
                next += 1
                plan = .keys(keys, next: next)
                guard let stored = try txn.get(recordsDB, key) else { continue }
                guard take(stored) else { return out }
            }
        }
        isFinished = true
        return out
    }

    /// Turns the plan into the matches' keys in sort order, offset and limit applied: what
    /// is held is one value per sort key and one primary key per match. Each sort key
    /// orders what the ones before it leave tied (Harper's `sort.next`).
    mutating func sort(env: DatabaseEnvironment, txn: LMDBTransaction, by sortKeys: [DatabaseEnvironment.SortKey]) throws {
        guard let recordsDB = try env.readHandle(txn, StorageLayout.records(table)) else {
            isFinished = true
            return
        }
        var matches: [(values: [JSON?], key: [UInt8])] = []
        let live = liveness(now: env.clock.nowMillis())
        func consider(_ key: [UInt8], _ stored: [UInt8]) {
            guard let r = StoredRecord.decode(stored), live(r), case .object(let fields) = r.value, condition?.matches(fields) ?? true else { return }
            matches.append((sortKeys.map { fields[$0.attribute] }, key))
        }
        switch plan {
        case .scan:
            let cursor = try txn.cursor(recordsDB)
            var entry = try cursor.first()
            while let (k, v) = entry {
                consider(k, v)
                entry = try cursor.next()
            }
        case .keys(let keys, _):
            for key in keys { if let stored = try txn.get(recordsDB, key) { consider(key, stored) } }
        }
        matches.sort { a, b in
            for (i, sortKey) in sortKeys.enumerated() {
                let x = a.values[i], y = b.values[i]
                let o = SearchCondition.order(x ?? .null, y ?? .null) ?? DatabaseEnvironment.typeRank(x) - DatabaseEnvironment.typeRank(y)
                if o != 0 { return sortKey.descending ? o > 0 : o < 0 }
            }
            return false
        }
        var slice = matches.dropFirst(toSkip)
        if let remaining { slice = slice.prefix(remaining) }
        plan = .keys(slice.map(\.key), next: 0)
        toSkip = 0
        remaining = nil
    }

    /// Whether a stored record is still there for a read at `now` (the node's clock): not expired.
    func liveness(now: UInt64) -> (StoredRecord) -> Bool {
        guard let ttl = expirationMillis else { return { _ in true } }
        return { $0.version.millis &+ ttl > now }
    }
}
