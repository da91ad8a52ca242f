import SkeinCore

/// One record's change as an audit entry carries it: the full record after the write, or a
/// delete. Replication applies these, never the operation that produced them.
public struct ReplicatedWrite: Sendable, Equatable {
    public enum Change: Sendable, Equatable {
        case put(JSON)
        /// A record as the bytes a peer sent (a JSON object), stored as they are.
        case putReceived(ArraySlice<UInt8>)
        case delete

        /// The record after the write (received bytes parsed); nil for a delete.
        public func record() throws -> JSON? {
            switch self {
            case .put(let value): value
            case .putReceived(let bytes): try JSON.parse(bytes)
            case .delete: nil
            }
        }
    }

    public let table: String
    public let id: JSON
    public let change: Change
    public let version: RecordVersion

    public init(table: String, id: JSON, change: Change, version: RecordVersion) {
        self.table = table
        self.id = id
        self.change = change
        self.version = version
    }
}

extension AuditEntry {
    /// The record changes in this entry (empty for schema operations).
    public var writes: [ReplicatedWrite] {
        let v = RecordVersion(version: version, origin: origin)
        switch operation {
        case "delete":
            return ids.map { ReplicatedWrite(table: table, id: $0, change: .delete, version: v) }
        case "insert", "update", "upsert":
            if let received {
                return zip(ids, received).map { ReplicatedWrite(table: table, id: $0, change: .putReceived($1), version: v) }
            }
            return zip(ids, records).map { ReplicatedWrite(table: table, id: $0, change: .put($1), version: v) }
        default:
            return []
        }
    }
}

extension ReplicatedWrite {
    /// This write as a row of a full copy (`copy_rows`): `{id, version, origin, record}` or
    /// `{id, version, origin, deleted: true}` for a tombstone.
    public var copyRow: JSON {
        var row: [String: JSON] = ["id": id, "version": .string(String(version.version.rawValue)), "origin": .string(version.origin)]
        switch change {
        case .put(let record): row["record"] = record
        case .putReceived(let bytes): row["record"] = (try? JSON.parse(bytes)) ?? .null
        case .delete: row["deleted"] = true
        }
        return .object(row)
    }

    /// `copyRow`'s bytes, written into `out` without building the row: a record held as
    /// bytes (`putReceived`: what a store exports) is spliced in as it is.
    public func writeCopyRow(into out: inout [UInt8]) {
        out.append(contentsOf: #"{"id":"#.utf8)
        id.write(into: &out)
        out.append(contentsOf: #","origin":"#.utf8)
        JSON.writeString(version.origin, into: &out)
        switch change {
        case .put(let record):
            out.append(contentsOf: #","record":"#.utf8)
            record.write(into: &out)
        case .putReceived(let bytes):
            out.append(contentsOf: #","record":"#.utf8)
            out.append(contentsOf: bytes)
        case .delete:
            out.append(contentsOf: #","deleted":true"#.utf8)
        }
        out.append(contentsOf: #","version":""#.utf8)
        JSON.writeInteger(Int64(bitPattern: version.version.rawValue), into: &out)
        out.append(contentsOf: #""}"#.utf8)
    }

    /// Copied rows as writes; rows without an id, a version or an origin are left out.
    public static func fromCopyRows(table: String, rows: [JSON]) -> [ReplicatedWrite] {
        rows.compactMap { row in
            guard let version = copyRowVersion(row), let id = row["id"] else { return nil }
            if row["deleted"]?.boolValue == true { return ReplicatedWrite(table: table, id: id, change: .delete, version: version) }
            guard let record = row["record"] else { return nil }
            return ReplicatedWrite(table: table, id: id, change: .put(record), version: version)
        }
    }

    /// Copied rows as a store received them (`ReceivedRows`: each row's fields, its record
    /// left as bytes), as writes that store those bytes; the same rules as `fromCopyRows`.
    public static func fromCopyRows(table: String, received rows: [ReceivedRows.Row]) -> [ReplicatedWrite] {
        rows.compactMap { row in
            guard let version = copyRowVersion(row.fields), let id = row.fields["id"] else { return nil }
            if row.fields["deleted"]?.boolValue == true { return ReplicatedWrite(table: table, id: id, change: .delete, version: version) }
            guard let record = row.record else { return nil }
            return ReplicatedWrite(table: table, id: id, change: .putReceived(record), version: version)
        }
    }

    /// A copy row's version and origin (nil when either is missing or malformed).
    static func copyRowVersion(_ row: JSON) -> RecordVersion? {
        guard let v = row["version"]?.stringValue.flatMap(UInt64.init), let origin = row["origin"]?.stringValue else { return nil }
        return RecordVersion(version: HLCTimestamp(rawValue: v), origin: origin)
    }

    static func copyRowVersion(_ fields: [String: JSON]) -> RecordVersion? { copyRowVersion(.object(fields)) }
}
