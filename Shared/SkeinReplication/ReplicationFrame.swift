import SkeinCore

/// A replication connection's frames as JSON text (docs/INTERFACES.md §8): `hello` first
/// from both sides, then the `ReplicationMessage` cases. Pure codec; no I/O.
public enum ReplicationFrame: Sendable, Equatable {
    /// The sender's node name; must match its certificate and a configured route. `time`:
    /// the sender's clock (ms) when it sent it, for the clock offset in `cluster_status`.
    /// `log`: the publisher's identity of the connection's database log (absent when it has
    /// no such database yet), which the subscriber stores with its cursor. `recordCounts`:
    /// the subscriber reads `record_counts` frames (a newer version than the field's absence).
    case hello(node: String, time: UInt64? = nil, log: String? = nil, recordCounts: Bool = false)
    case message(ReplicationMessage)

    public struct DecodeError: Error, CustomStringConvertible, Sendable, Equatable {
        public let reason: String
        public var description: String { "malformed replication frame: \(reason)" }
    }

    public var json: JSON {
        switch self {
        case .hello(let node, let time, let log, let recordCounts):
            var o: [String: JSON] = ["type": "hello", "node": .string(node)]
            if let time { o["time"] = JSON(time) }
            if let log { o["log"] = .string(log) }
            if recordCounts { o["record_counts"] = true }
            return .object(o)
        case .message(.subscribe(let from, let origins, let startTime)):
            var o: [String: JSON] = ["type": "subscribe", "from": JSON(from), "origins": JSON(origins)]
            if let startTime { o["start_time"] = JSON(startTime) }
            return .object(o)
        case .message(.batch(let from, let through, let entries, let newest, let clock)):
            var o: [String: JSON] = ["type": "batch", "from": JSON(from), "through": JSON(through), "entries": .array(entries.map(\.json))]
            if let newest { o["newest"] = JSON(newest) }
            // As text: an HLC raw value passes 2^53, which a JSON number cannot carry exactly.
            if let clock { o["clock"] = .string(String(clock)) }
            return .object(o)
        case .message(.ack(let through)):
            return ["type": "ack", "through": JSON(through)]
        case .message(.frontier(let version)):
            return ["type": "frontier", "version": .string(String(version))]
        case .message(.pruned(let oldest, let reason)):
            return reason.map { ["type": "pruned", "oldest": JSON(oldest), "reason": .string($0)] } ?? ["type": "pruned", "oldest": JSON(oldest)]
        case .message(.copyBegin(let startTime)):
            return startTime.map { ["type": "copy_begin", "start_time": JSON($0)] } ?? ["type": "copy_begin"]
        case .message(.copyTables(let resumeFrom, let tables, let databases)):
            var o: [String: JSON] = ["type": "copy_tables", "resume_from": JSON(resumeFrom), "tables": .array(tables)]
            if let databases { o["databases"] = JSON(databases) }
            return .object(o)
        case .message(.copyPage(let table, let after)):
            return ["type": "copy_page", "table": .string(table), "after": after ?? .null]
        case .message(.copyRows(let table, let rows, let last, let oversized)):
            var o: [String: JSON] = ["type": "copy_rows", "table": .string(table), "rows": .array(rows), "last": last ?? .null]
            if !oversized.isEmpty { o["oversized"] = .array(oversized) }
            return .object(o)
        case .message(.recordCounts(let tables)):
            return ["type": "record_counts", "tables": .object(tables.mapValues { JSON($0) })]
        }
    }

    /// The text of one WebSocket message.
    public var text: String { json.text }

    /// A batch's message with its entries given as the bytes of a JSON array (as auditd
    /// returned them), spliced in rather than built and serialized again; the same message
    /// as `.batch(...).text` with those entries.
    public static func batchBytes(from: UInt64, through: UInt64, newest: UInt64?, clock: UInt64?, entries: ArraySlice<UInt8>) -> [UInt8] {
        ReplicationFrame.message(.batch(from: from, through: through, entries: [], newest: newest, clock: clock)).bytes(splicing: entries, as: "entries")
    }

    /// A `copy_rows` message with its rows given as the bytes of a JSON array (as the store
    /// exported them); the same message as `.copyRows(...).text` with those rows.
    public static func copyRowsBytes(table: String, last: JSON?, oversized: [JSON], rows: ArraySlice<UInt8>) -> [UInt8] {
        ReplicationFrame.message(.copyRows(table: table, rows: [], last: last, oversized: oversized)).bytes(splicing: rows, as: "rows")
    }

    /// This frame's text with the value of `key` replaced by `raw` (the bytes of a JSON value).
    func bytes(splicing raw: ArraySlice<UInt8>, as key: String) -> [UInt8] {
        var rest = json
        if case .object(var o) = rest {
            o[key] = nil
            rest = .object(o)
        }
        return JSON.object(splicing: raw, as: key, with: rest)
    }

    /// The rows of a `copy_rows` page as exported or received: their table and count, and
    /// the bytes of their JSON array, passed on without building the records. Whoever holds
    /// the rows decoded down to their fields only (records empty) must send these bytes.
    public struct RawRows: Sendable {
        public let table: String
        public let count: Int
        public let bytes: ArraySlice<UInt8>

        public init(table: String, count: Int, bytes: ArraySlice<UInt8>) {
            self.table = table
            self.count = count
            self.bytes = bytes
        }

        /// Whether these are the rows of `rows` (the same page of `table`).
        public func are(_ table: String, _ rows: [JSON]) -> Bool { table == self.table && rows.count == count }
    }

    /// The entries of a batch as received: sequences and the bytes of their JSON array, so a
    /// subscriber can hand them to its store without building and serializing them again.
    public struct RawEntries: Sendable {
        public let sequences: [UInt64]
        public let bytes: ArraySlice<UInt8>

        public init(sequences: [UInt64], bytes: ArraySlice<UInt8>) {
            self.sequences = sequences
            self.bytes = bytes
        }

        /// Whether these are exactly `entries` (drawn from the same batch, in order).
        public func are(_ entries: [AuditEntry]) -> Bool {
            entries.count == sequences.count && entries.first?.sequence == sequences.first && entries.last?.sequence == sequences.last
        }

        /// `wanted` (some of these entries, in order) read whole from the bytes: the entries
        /// a reader decoded only down to their headers (`JSON.parse(_:buildingDepth:)`) when
        /// a batch must be built from part of them. Nil when one of them is not here.
        public func whole(_ wanted: [AuditEntry]) -> [AuditEntry]? {
            guard let listed = try? JSON.parse(bytes).arrayValue else { return nil }
            var bySequence: [UInt64: AuditEntry] = [:]
            for e in listed.compactMap(AuditEntry.init(json:)) { bySequence[e.sequence] = e }
            let out = wanted.compactMap { bySequence[$0.sequence] }
            return out.count == wanted.count ? out : nil
        }
    }

    public init(text: String) throws(DecodeError) {
        let parsed: JSON
        do { parsed = try JSON.parse(text) } catch { throw DecodeError(reason: "\(error)") }
        try self.init(json: parsed)
    }

    public init(bytes: [UInt8]) throws(DecodeError) {
        let parsed: JSON
        do { parsed = try JSON.parse(bytes) } catch { throw DecodeError(reason: "\(error)") }
        try self.init(json: parsed)
    }

    public init(json: JSON) throws(DecodeError) {
        guard case .object(let o) = json else { throw DecodeError(reason: "not a JSON object") }
        guard let type = o["type"]?.stringValue else { throw DecodeError(reason: "missing \"type\"") }
        func sequence(_ key: String) throws(DecodeError) -> UInt64 {
            guard let d = o[key]?.doubleValue, d >= 0, let n = UInt64(exactly: d) else {
                throw DecodeError(reason: "\(type).\(key) must be a sequence number")
            }
            return n
        }
        /// An optional non-negative integer (a time in ms, a sequence).
        func optionalNumber(_ key: String) throws(DecodeError) -> UInt64? {
            guard let v = o[key], !v.isNull else { return nil }
            guard let d = v.doubleValue, d >= 0, let n = UInt64(exactly: d) else { throw DecodeError(reason: "\(type).\(key) must be a non-negative integer") }
            return n
        }
        func startTime() throws(DecodeError) -> UInt64? { try optionalNumber("start_time") }
        /// An HLC raw value, as decimal text.
        func version(_ key: String) throws(DecodeError) -> UInt64? {
            guard let v = o[key], !v.isNull else { return nil }
            guard let text = v.stringValue, let n = UInt64(text) else { throw DecodeError(reason: "\(type).\(key) must be a version (decimal text)") }
            return n
        }
        func tableName() throws(DecodeError) -> String {
            guard let t = o["table"]?.stringValue, !t.isEmpty else { throw DecodeError(reason: "\(type).table must be a table name") }
            return t
        }
        /// A primary key (string or number), or null / absent.
        func key(_ name: String) throws(DecodeError) -> JSON? {
            guard let v = o[name], !v.isNull else { return nil }
            guard v.stringValue != nil || v.doubleValue != nil else { throw DecodeError(reason: "\(type).\(name) must be a key or null") }
            return v
        }
        switch type {
        case "hello":
            guard let node = o["node"]?.stringValue, !node.isEmpty else { throw DecodeError(reason: "hello.node must be a node name") }
            let log = o["log"]?.nonNull
            guard log == nil || (log?.stringValue.map { !$0.isEmpty } ?? false) else { throw DecodeError(reason: "hello.log must be a log identity") }
            self = .hello(node: node, time: try optionalNumber("time"), log: log?.stringValue, recordCounts: o["record_counts"]?.boolValue ?? false)
        case "subscribe":
            guard let list = o["origins"]?.arrayValue else { throw DecodeError(reason: "subscribe.origins must be a list of node names") }
            var origins: [String] = []
            for item in list {
                guard let name = item.stringValue else { throw DecodeError(reason: "subscribe.origins must be a list of node names") }
                origins.append(name)
            }
            self = .message(.subscribe(from: try sequence("from"), origins: origins, startTime: try startTime()))
        case "batch":
            let from = try sequence("from"), through = try sequence("through")
            guard let list = o["entries"]?.arrayValue else { throw DecodeError(reason: "batch.entries must be a list") }
            var entries: [AuditEntry] = []
            for (i, item) in list.enumerated() {
                guard let entry = AuditEntry(json: item) else { throw DecodeError(reason: "batch.entries[\(i)] is not an audit entry") }
                entries.append(entry)
            }
            self = .message(.batch(from: from, through: through, entries: entries, newest: try optionalNumber("newest"), clock: try version("clock")))
        case "ack":
            self = .message(.ack(through: try sequence("through")))
        case "frontier":
            guard let v = try version("version") else { throw DecodeError(reason: "frontier.version must be a version (decimal text)") }
            self = .message(.frontier(v))
        case "pruned":
            self = .message(.pruned(oldest: try sequence("oldest"), reason: o["reason"]?.stringValue))
        case "copy_begin":
            self = .message(.copyBegin(startTime: try startTime()))
        case "copy_tables":
            guard let list = o["tables"]?.arrayValue else { throw DecodeError(reason: "copy_tables.tables must be a list") }
            for (i, item) in list.enumerated() {
                guard item["name"]?.stringValue != nil, item["primary_key"]?.stringValue != nil else {
                    throw DecodeError(reason: "copy_tables.tables[\(i)] must be a table description with name and primary_key")
                }
            }
            var databases: [String]? = nil
            if let d = o["databases"], !d.isNull {
                guard let names = d.arrayValue?.compactMap(\.stringValue), names.count == d.arrayValue?.count else {
                    throw DecodeError(reason: "copy_tables.databases must be a list of names")
                }
                databases = names
            }
            self = .message(.copyTables(resumeFrom: try sequence("resume_from"), tables: list, databases: databases))
        case "copy_page":
            self = .message(.copyPage(table: try tableName(), after: try key("after")))
        case "copy_rows":
            guard let rows = o["rows"]?.arrayValue else { throw DecodeError(reason: "copy_rows.rows must be a list") }
            self = .message(.copyRows(table: try tableName(), rows: rows, last: try key("last"), oversized: o["oversized"]?.arrayValue ?? []))
        case "record_counts":
            guard let counts = o["tables"]?.objectValue else { throw DecodeError(reason: "record_counts.tables must be an object") }
            var tables: [String: Int] = [:]
            for (name, count) in counts {
                guard let n = count.intValue, n >= 0 else { throw DecodeError(reason: "record_counts.tables must map table names to counts") }
                tables[name] = n
            }
            self = .message(.recordCounts(tables))
        default:
            throw DecodeError(reason: "unknown type \"\(type)\"")
        }
    }
}
