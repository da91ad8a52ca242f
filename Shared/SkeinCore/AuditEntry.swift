/// One entry of a database's audit log: one operation on one table in one transaction.
///
/// Written by `store` in the same LMDB transaction as the data it describes, read by
/// `auditd` (queries, streams, pruning) and, later, shipped to peers by the replicator.
/// The stored form is the JSON object of `json`; see docs/INTERFACES.md §5.
public struct AuditEntry: Sendable, Equatable {
    /// Local, gap-free, monotonically increasing position in this database's log.
    public var sequence: UInt64
    /// HLC version of the write; also the records' version.
    public var version: HLCTimestamp
    /// Name of the node where the write originated.
    public var origin: String
    public var user: String?
    /// insert, update, upsert, delete, or a schema operation (create_table, ...).
    public var operation: String
    public var table: String
    public var ids: [JSON]
    /// New values (full records after the write), aligned with `ids`; empty for deletes.
    public var records: [JSON]
    /// Values before the write (null where there was none), aligned with `ids`.
    public var previous: [JSON]
    /// Extra operation data (schema operations put the table description here).
    public var details: JSON?
    /// A peer's records as the bytes they came in, aligned with `ids`, in place of `records`
    /// (`ReceivedBatch`: what a receiving store stores without parsing); nil otherwise.
    public var received: [ArraySlice<UInt8>]? = nil

    public init(sequence: UInt64, version: HLCTimestamp, origin: String, user: String?, operation: String,
                table: String, ids: [JSON], records: [JSON], previous: [JSON], details: JSON? = nil) {
        self.sequence = sequence
        self.version = version
        self.origin = origin
        self.user = user
        self.operation = operation
        self.table = table
        self.ids = ids
        self.records = records
        self.previous = previous
        self.details = details
    }

    /// Wall-clock milliseconds of the write (the HLC's physical part).
    public var timestamp: Double { Double(version.millis) }

    public var json: JSON {
        var o: [String: JSON] = [
            "seq": JSON(sequence), "version": .string(String(version.rawValue)), "ts": .number(timestamp),
            "origin": .string(origin), "op": .string(operation), "table": .string(table),
            "ids": .array(ids), "records": .array(records), "previous": .array(previous),
        ]
        if let user { o["user"] = .string(user) }
        if let details { o["details"] = details }
        return .object(o)
    }

    /// The stored bytes, identical to `json.serialized()` but built from records that are
    /// already serialized: the write path serializes each record once, for the record and
    /// for its audit entry.
    public static func encode(sequence: UInt64, version: HLCTimestamp, origin: String, user: String?, operation: String,
                              table: String, ids: [JSON], recordBytes: [[UInt8]], previousBytes: [[UInt8]], details: JSON?) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128 + recordBytes.reduce(0) { $0 + $1.count } + previousBytes.reduce(0) { $0 + $1.count })
        func key(_ k: String, first: Bool = false) {
            if !first { out.append(UInt8(ascii: ",")) }
            JSON.writeString(k, into: &out)
            out.append(UInt8(ascii: ":"))
        }
        func list(_ items: [[UInt8]]) {
            out.append(UInt8(ascii: "["))
            for (i, r) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: r)
            }
            out.append(UInt8(ascii: "]"))
        }
        // Keys in sorted order, like JSON.serialized().
        out.append(UInt8(ascii: "{"))
        var first = true
        if let details { key("details", first: first); first = false; details.write(into: &out) }
        key("ids", first: first); JSON.array(ids).write(into: &out)
        key("op"); JSON.writeString(operation, into: &out)
        key("origin"); JSON.writeString(origin, into: &out)
        key("previous"); list(previousBytes)
        key("records"); list(recordBytes)
        key("seq"); JSON.writeNumber(Double(sequence), into: &out)
        key("table"); JSON.writeString(table, into: &out)
        key("ts"); JSON.writeNumber(Double(version.millis), into: &out)
        if let user { key("user"); JSON.writeString(user, into: &out) }
        key("version"); JSON.writeString(String(version.rawValue), into: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// The `origin` of a stored entry read straight from its bytes, without parsing it (a
    /// log reader skips other nodes' entries this way); nil when it cannot tell for sure.
    /// In the stored form (keys sorted) the first `"origin":"` after `details` is the
    /// top-level key: the keys between (`ids`, `op`) hold no such key, and a quote inside a
    /// string is always escaped. `details` is skipped: a table's description may name an
    /// attribute `origin` as a key (its `types`).
    public static func origin(ofStored bytes: [UInt8]) -> String? {
        var from = 0
        if bytes.starts(with: Self.detailsKey) {
            var parser = JSONParser(bytes: bytes)
            parser.index = Self.detailsKey.count
            do { try parser.skipValue() } catch { return nil }
            from = parser.index
        }
        guard let key = Self.firstRange(of: Self.originKey, in: bytes, from: from) else { return nil }
        var end = key.upperBound
        while end < bytes.count && bytes[end] != UInt8(ascii: "\"") {
            if bytes[end] == UInt8(ascii: "\\") { return nil }  // escapes: parse instead
            end += 1
        }
        guard end < bytes.count else { return nil }
        return String(decoding: bytes[key.upperBound..<end], as: UTF8.self)
    }

    /// A stored entry without its before-images (`previous`), cut out of the bytes without
    /// parsing the rest: what peers are sent. Nil when it has none or cannot be cut safely.
    /// As for `origin(ofStored:)`, the first `,"previous":[` is the top-level key.
    public static func withoutPrevious(stored bytes: [UInt8]) -> [UInt8]? {
        guard let key = Self.firstRange(of: Self.previousKey, in: bytes) else { return nil }
        let start = key.lowerBound
        var parser = JSONParser(bytes: bytes)
        parser.index = key.upperBound - 1  // at the array's "["
        do { try parser.skipContainer() } catch { return nil }
        var out = Array(bytes[..<start])
        out.append(contentsOf: bytes[parser.index...])
        return out
    }

    static let originKey: [UInt8] = Array(#""origin":""#.utf8)
    static let detailsKey: [UInt8] = Array(#"{"details":"#.utf8)
    static let previousKey: [UInt8] = Array(#","previous":["#.utf8)

    /// Where `pattern` first occurs in `bytes` (a plain scan: the stdlib's generic
    /// `firstRange(of:)` costs a third of a 3-node cluster's throughput on this path).
    static func firstRange(of pattern: [UInt8], in bytes: [UInt8], from start: Int = 0) -> Range<Int>? {
        guard !pattern.isEmpty, bytes.count >= pattern.count else { return nil }
        return bytes.withUnsafeBufferPointer { b in
            pattern.withUnsafeBufferPointer { p in
                let first = p[0]
                var i = start
                let last = b.count - p.count
                while i <= last {
                    if b[i] == first {
                        var j = 1
                        while j < p.count && b[i + j] == p[j] { j += 1 }
                        if j == p.count { return i..<(i + p.count) }
                    }
                    i += 1
                }
                return nil
            }
        }
    }

    public init?(json: JSON) {
        guard case .object(let o) = json,
            let seq = o["seq"]?.doubleValue.flatMap({ UInt64(exactly: $0) }),
            let versionText = o["version"]?.stringValue, let version = UInt64(versionText),
            let origin = o["origin"]?.stringValue, let op = o["op"]?.stringValue, let table = o["table"]?.stringValue
        else { return nil }
        self.init(
            sequence: seq, version: HLCTimestamp(rawValue: version), origin: origin, user: o["user"]?.stringValue,
            operation: op, table: table, ids: o["ids"]?.arrayValue ?? [], records: o["records"]?.arrayValue ?? [],
            previous: o["previous"]?.arrayValue ?? [], details: o["details"])
    }

    /// Harper's `read_audit_log` shape.
    public var harperShape: JSON { harperShape(ids: ids, records: records, previous: previous) }

    /// The entry as it concerns its `index`th record alone: Harper's `read_audit_log` by
    /// `hash_value` answers each record's history (ResourceBridge.ts readAuditLog).
    public func harperShape(recordAt index: Int) -> JSON {
        func one(_ list: [JSON]) -> [JSON] { list.indices.contains(index) ? [list[index]] : [] }
        return harperShape(ids: one(ids), records: one(records), previous: one(previous))
    }

    func harperShape(ids: [JSON], records: [JSON], previous: [JSON]) -> JSON {
        var o: [String: JSON] = [
            "operation": .string(operation), "user_name": user.map(JSON.string) ?? .null,
            "timestamp": .number(timestamp), "hash_values": .array(ids), "records": .array(records),
        ]
        if previous.contains(where: { !$0.isNull }) { o["original_records"] = .array(previous) }
        return .object(o)
    }
}

extension AuditEntry {
    /// Data operations whose entries carry record changes.
    public static let recordOperations: Set<String> = ["insert", "update", "upsert", "delete"]

    /// A record entry's `details`: its table's primary key, so a peer that does not have the
    /// table yet (its creation is still on the way from another node) creates it instead of
    /// losing the write.
    public static func recordDetails(primaryKey: String) -> JSON { ["primary_key": .string(primaryKey)] }

    /// Whether the entry changes records (what `read_audit_log` lists, as Harper's audit
    /// log holds record writes only); the others change the schema.
    public var changesRecords: Bool { Self.recordOperations.contains(operation) }

    /// The primary key a record entry names (nil for entries written before it did).
    public var primaryKey: String? { details?["primary_key"]?.stringValue }

    /// A record entry's `details.record_attributes`: every attribute name its records hold
    /// (sorted), so a receiver learns new attributes once per entry rather than by reading
    /// every record's names. Nil in entries written before it was added.
    public var recordAttributes: [String]? { details?[Self.recordAttributesKey]?.arrayValue?.compactMap(\.stringValue) }

    public static let recordAttributesKey = "record_attributes"
}
