import SkeinCore

/// One record's change as an audit entry carries it: the full record after the write, or a
/// delete. Replication applies these, never the operation that produced them.
public struct ReplicatedWrite: Sendable, Equatable {
    public enum Change: Sendable, Equatable {
        case put(JSON)
        case delete
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
    /// Data operations whose entries carry record changes.
    public static let recordOperations: Set<String> = ["insert", "update", "upsert", "delete"]

    /// The record changes in this entry (empty for schema operations).
    public var writes: [ReplicatedWrite] {
        let v = RecordVersion(version: version, origin: origin)
        switch operation {
        case "delete":
            return ids.map { ReplicatedWrite(table: table, id: $0, change: .delete, version: v) }
        case "insert", "update", "upsert":
            return zip(ids, records).map { ReplicatedWrite(table: table, id: $0, change: .put($1), version: v) }
        default:
            return []
        }
    }
}
