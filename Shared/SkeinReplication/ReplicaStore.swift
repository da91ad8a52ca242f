import SkeinCore

/// How far one peer's log has been applied here: the last sequence, and the identity of the
/// log those sequences belong to (`nil` for a cursor stored before logs had identities).
/// A cursor into one log says nothing about another: a peer whose database was dropped and
/// created again, or whose disk was wiped, starts a new log at sequence 1.
public struct ReplicationCursor: Sendable, Equatable, CustomStringConvertible {
    public var sequence: UInt64
    public var log: String?

    public init(sequence: UInt64, log: String?) {
        self.sequence = sequence
        self.log = log
    }

    public static let none = ReplicationCursor(sequence: 0, log: nil)

    /// Whether this cursor points into the log named `other` (an unknown identity on either
    /// side is taken as the same log: nothing to compare).
    public func isInto(_ other: String?) -> Bool { log == nil || other == nil || log == other }

    public var description: String { "\(sequence)@\(log ?? "?")" }
}

/// One table while replicated writes merge into it. The merge asks for the current
/// version of each record and hands over the writes that won; the table keeps whatever it
/// needs to log them (records, previous values) until `ReplicaStore.finish`.
public protocol ReplicaTable {
    /// The version of the record or tombstone stored under `id`, nil when there is neither.
    mutating func currentVersion(of id: JSON) throws -> RecordVersion?
    /// Stores a write that won last-write-wins (a record, or a tombstone for a delete).
    mutating func store(_ write: ReplicatedWrite) throws
}

/// Where replicated entries and copied rows land: the LMDB store (`SkeinStorage`) and the
/// simulation's in-memory store implement it, so `ReplicaMerge` — the one last-write-wins
/// merge, cursor rule and "log only the winners" rule — is the code both run.
public protocol ReplicaStore {
    associatedtype Table: ReplicaTable
    /// The table writes go to; nil when the table does not exist here.
    mutating func table(_ name: String) throws -> Table?
    /// `table(_:)` for the writes of `entry` (nil: rows of a full copy), which may say what
    /// its records hold (`AuditEntry.recordAttributes`): a store can learn their attribute
    /// names from it instead of reading each record's.
    mutating func table(_ name: String, writtenBy entry: AuditEntry?) throws -> Table?
    /// Creates a table a replicated entry writes to and this node lacks (its creation is
    /// still on the way from another node, or it was dropped here: a peer's writes bring it
    /// back, as Harper's table structures do), logged as a `create_table` like `entry`.
    mutating func createTable(_ name: String, primaryKey: String, for entry: AuditEntry) throws
    /// Every write that won in `table` was stored: save what changed (schema, attributes)
    /// and log the winners as one entry like `entry` (its origin and version), or not at all
    /// when `entry` is nil (rows of a full copy).
    mutating func finish(_ table: Table, name: String, winners: [ReplicatedWrite], loggedAs entry: AuditEntry?) throws
    /// A schema entry (create_table, create_attribute, replicated drops): applied, and how
    /// many changes it made. Nil for entries that carry record changes.
    mutating func applySchema(_ entry: AuditEntry) throws -> Int?
    func cursor(peer: String) throws -> ReplicationCursor
    mutating func setCursor(peer: String, _ cursor: ReplicationCursor) throws
}

extension ReplicaStore {
    public mutating func table(_ name: String, writtenBy entry: AuditEntry?) throws -> Table? { try table(name) }
}
