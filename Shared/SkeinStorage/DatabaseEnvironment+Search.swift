import SkeinCore
import SkeinLMDB

/// Reads: by id, by value, by conditions. Conditions are narrowed with an index when one
/// applies (see `candidates`), then every candidate is checked with the full condition, so
/// an index only ever saves work and never changes a result.
extension DatabaseEnvironment {
    public func requireTable(_ txn: LMDBTransaction, _ name: String) throws -> TableSchema {
        guard let t = try table(txn, name) else { throw SkeinError.notFound("Table '\(self.name).\(name)' does not exist") }
        return t
    }

    public func recordCount(_ txn: LMDBTransaction, _ table: String) throws -> Int {
        guard let db = try readHandle(txn, StorageLayout.records(table)) else { return 0 }
        return try txn.count(db)
    }

    /// Harper's `describe_table`, with its `table_size` and `db_audit_size` (bytes of LMDB
    /// pages, from mdb_stat as Harper's getSize/getAuditSize). Harper's
    /// `estimated_record_range` is never given: it comes only with an estimated
    /// `record_count`, and ours is always exact (mdb_stat's entry count).
    public func describe(_ txn: LMDBTransaction, _ table: TableSchema) throws -> JSON {
        // Skein's own field: deletes remembered until every peer has them (tombstone pruning).
        table.describe(recordCount: try recordCount(txn, table.name))
            .adding("tombstone_count", JSON(try tombstoneCount(txn, table.name)))
            .adding("table_size", JSON(Int(try tableSize(txn, table.name))))
            .adding("db_audit_size", JSON(Int(try txn.byteSize(auditDB))))
    }

    /// Bytes of the pages holding a table's records and the deletes it remembers (Harper's
    /// primary store holds both), not its secondary indexes (Harper's getSize neither).
    public func tableSize(_ txn: LMDBTransaction, _ table: String) throws -> UInt64 {
        var bytes: UInt64 = 0
        for name in [StorageLayout.records(table), StorageLayout.tombstones(table)] {
            if let db = try readHandle(txn, name) { bytes += try txn.byteSize(db) }
        }
        return bytes
    }

    public func searchByID(_ txn: LMDBTransaction, table name: String, ids: [JSON], attributes: [String]?) throws -> [JSON] {
        var cursor = try SearchCursor(env: self, txn: txn, table: name, ids: ids, attributes: attributes)
        return try cursor.next(env: self, txn: txn)
    }

    public struct SearchOptions: Sendable {
        public var attributes: [String]?
        /// Harper's `{name, select}` entries of `get_attributes`, applied after `attributes`.
        public var select: SelectList?
        public var offset = 0
        public var limit: Int?
        public var sortAttribute: String?
        public var sortDescending = false
        /// Harper's `sort.next`: the keys that order the matches the keys before leave tied.
        public var thenBy: [SortKey] = []
        public init() {}

        /// Every sort key, the first one first (none without `sortAttribute`).
        var sortKeys: [SortKey] {
            sortAttribute.map { [SortKey(attribute: $0, descending: sortDescending)] + thenBy } ?? []
        }
    }

    public struct SortKey: Sendable, Equatable {
        public var attribute: String
        public var descending: Bool
        public init(attribute: String, descending: Bool = false) {
            self.attribute = attribute
            self.descending = descending
        }
    }

    /// The whole result at once; `SearchCursor` reads it page by page.
    public func search(_ txn: LMDBTransaction, table name: String, condition: SearchCondition, options: SearchOptions) throws -> [JSON] {
        var cursor = try SearchCursor(env: self, txn: txn, table: name, condition: condition, options: options)
        return try cursor.next(env: self, txn: txn)
    }

    static func typeRank(_ v: JSON?) -> Int {
        switch v {
        case .none, .some(.null): 0
        case .some(.bool): 1
        case .some(.number): 2
        case .some(.string): 3
        default: 4
        }
    }

    /// `get_attributes` as Harper answers it (its `forceNulls`): nil or `*` means every
    /// attribute, and a named attribute the record lacks comes as null. `padding`: the
    /// attributes a whole record shows as null when it lacks them (`*` on a dynamic table).
    public static func project(_ record: JSON, _ attributes: [String]?, padding: [String] = []) -> JSON {
        guard case .object(var o) = record else { return record }
        guard let attributes, !attributes.contains("*") else {
            if padding.isEmpty { return record }
            for a in padding where o[a] == nil { o[a] = .null }
            return .object(o)
        }
        var out: [String: JSON] = [:]
        for a in attributes { out[a] = o[a] ?? .null }
        return .object(out)
    }

    /// Harper's search validation (validation/searchValidator.js): naming an attribute the
    /// table has never had, in `get_attributes` or a condition, is 400 `unknown attribute 'a,
    /// b and c'`. `*` and `$` meta attributes pass; the system database is not checked.
    public func checkAttributes(_ txn: LMDBTransaction, table name: String, _ names: [String]) throws {
        guard self.name != DatabaseRegistry.systemDatabase else { return }
        let known = Set(try requireTable(txn, name).attributes)
        let unknown = names.filter { $0 != "*" && !$0.hasPrefix("$") && !known.contains($0) }
        guard let last = unknown.last else { return }
        let list = unknown.count == 1 ? last : unknown.dropLast().joined(separator: ", ") + " and " + last
        throw SkeinError.badRequest("unknown attribute '\(list)'")
    }

    // MARK: Index planning

    /// Primary keys that may match, from an index or the primary key; nil means "scan".
    func candidates(_ txn: LMDBTransaction, _ schema: TableSchema, _ condition: SearchCondition, backlog: BacklogView? = nil) throws -> [[UInt8]]? {
        let backlog = try backlog ?? BacklogView(env: self, txn: txn, table: schema.name)
        switch condition {
        case .group(.and, let children):
            // Prefer an equality; then a range bounded on both sides (a lower and an upper
            // bound on one attribute read as one `between`); any indexable child narrows an AND.
            var ordered = children.sorted { a, b in Self.isEquality(a) && !Self.isEquality(b) }
            if !ordered.contains(where: Self.isEquality), let bounded = Self.boundedRange(children) { ordered.insert(bounded, at: 0) }
            for child in ordered {
                if let keys = try candidates(txn, schema, child, backlog: backlog) { return keys }
            }
            return nil
        case .group(.or, let children):
            guard !children.isEmpty else { return nil }
            var all: [[UInt8]] = []
            for child in children {
                guard let keys = try candidates(txn, schema, child, backlog: backlog) else { return nil }
                all += keys
            }
            return all
        case .leaf(let attribute, let comparator, let value):
            if attribute == schema.primaryKey {
                return try primaryKeyCandidates(txn, schema, comparator, value)
            }
            guard schema.attributes.contains(attribute), schema.isIndexed(attribute), let id = schema.storageID,
                let itxn = backlog.indexTxn, let dbs = indexes?.handles(id, attribute, in: itxn), !dbs.isEmpty
            else { return nil }
            return try indexCandidates(itxn, dbs, comparator, value, backlog: backlog.isEmpty ? nil : try backlog.entries(attribute))
        }
    }

    /// A `between` leaf for an attribute that `children` bound from below (greater_than,
    /// greater_than_equal) and above (less_than, less_than_equal): a superset of what the
    /// two match together, which the search then checks exactly.
    static func boundedRange(_ children: [SearchCondition]) -> SearchCondition? {
        var lows: [String: JSON] = [:], highs: [String: JSON] = [:]
        for child in children {
            guard case .leaf(let attribute, let comparator, let value) = child, value.isKeyScalar else { continue }
            switch comparator {
            case .greater_than, .greater_than_equal: lows[attribute] = value
            case .less_than, .less_than_equal: highs[attribute] = value
            default: continue
            }
        }
        for (attribute, low) in lows.sorted(by: { $0.key < $1.key }) {
            if let high = highs[attribute] { return .leaf(attribute: attribute, comparator: .between, value: [low, high]) }
        }
        return nil
    }

    static func isEquality(_ c: SearchCondition) -> Bool {
        if case .leaf(_, .equals, _) = c { return true }
        return false
    }

    /// Key variants for loose equality (`SearchCondition.looselyEqual`): `1` also finds
    /// `"1"` and the reverse; nil when an index cannot answer exactly (null also matches a
    /// missing field, arrays and objects are not index keys).
    static func equalityKeys(_ value: JSON) -> [[UInt8]]? {
        var values = [value]
        switch value {
        case .string(let s): if let d = Double(s), JSON.number(d).text == s { values.append(.number(d)) }
        case .number: values.append(.string(value.text))
        case .bool: break
        case .null, .array, .object: return nil
        }
        return values.compactMap(KeyCodec.encode)
    }

    func primaryKeyCandidates(_ txn: LMDBTransaction, _ schema: TableSchema, _ comparator: SearchCondition.Comparator, _ value: JSON) throws -> [[UInt8]]? {
        guard comparator == .equals else { return nil }
        return Self.equalityKeys(value)
    }

    /// `dbs`: the index's databases (main and recent: `IndexEnvironment`), read together in
    /// index order. `backlog`: the index keys of records in the index backlog, by their
    /// current values (`BacklogView.entries`); their entries in the index may be stale.
    func indexCandidates(_ txn: LMDBTransaction, _ dbs: [LMDBDatabase], _ comparator: SearchCondition.Comparator, _ value: JSON,
                         backlog: BacklogView.Entries? = nil) throws -> [[UInt8]]? {
        let cursors = try dbs.map { try txn.cursor($0) }
        var out: [[UInt8]] = []
        /// Every primary key under index keys from `low` on while `inRange`, in index order.
        func range(from low: [UInt8], while inRange: ([UInt8]) -> Bool) throws {
            var scan = try IndexScan(cursors, from: low)
            var entry = try scan.next()
            guard let backlog else {
                while let (k, v) = entry, inRange(k) {
                    out.append(v)
                    entry = try scan.next()
                }
                return
            }
            // Records in the backlog come by their current values, merged in index order.
            let current = backlog.sorted(from: low, while: inRange)
            var i = current.startIndex
            while let (k, v) = entry, inRange(k) {
                if !backlog.waits(v) {
                    while i < current.endIndex, BacklogView.precedes(current[i], (k, v)) {
                        out.append(current[i].record)
                        i += 1
                    }
                    out.append(v)
                }
                entry = try scan.next()
            }
            out += current[i...].map(\.record)
        }
        switch comparator {
        case .equals:
            guard let keys = Self.equalityKeys(value)?.map(IndexWriter.indexKey) else { return nil }
            for key in keys { try range(from: key) { $0 == key } }
        case .starts_with:
            // Only string fields match text comparators; a number value means its text.
            guard let text = value.stringValue ?? (value.doubleValue != nil ? value.text : nil),
                !KeyCodec.isTruncated(.string(text)), let prefix = KeyCodec.encode(.string(text)).map(IndexWriter.indexKey) else { return nil }
            try range(from: prefix) { $0.starts(with: prefix) }
        case .greater_than, .greater_than_equal, .less_than, .less_than_equal, .between:
            // Range over one type (numbers or strings), bounded by that type's tag.
            let bound: JSON = comparator == .between ? (value.arrayValue?.first ?? value) : value
            guard bound.isKeyScalar, !KeyCodec.isTruncated(bound), let boundKey = KeyCodec.encode(bound).map(IndexWriter.indexKey) else { return nil }
            let tag = boundKey[0]
            switch comparator {
            case .between:
                // Up to the high bound when it is of the same type (an index key may be a
                // cut text: `+ [0xFF]` keeps every key the bound's prefix could stand for).
                let high = value.arrayValue.flatMap { $0.count == 2 ? $0[1] : nil }
                if let high, high.isKeyScalar, let highKey = KeyCodec.encode(high).map(IndexWriter.indexKey), highKey[0] == tag {
                    let limit = highKey + [0xFF]
                    try range(from: boundKey) { $0.first == tag && $0.lexicographicallyPrecedes(limit) }
                } else {
                    try range(from: boundKey) { $0.first == tag }
                }
            case .greater_than, .greater_than_equal:
                try range(from: boundKey) { $0.first == tag }
            default:
                try range(from: [tag]) { $0.first == tag && $0.lexicographicallyPrecedes(boundKey + [0xFF]) }
            }
        default:
            return nil
        }
        return out
    }
}
