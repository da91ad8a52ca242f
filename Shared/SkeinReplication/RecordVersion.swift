import SkeinCore

/// What orders two writes to the same record: the HLC version, then the origin node's name
/// (so two nodes that stamped the same version still agree on one winner).
public struct RecordVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let version: HLCTimestamp
    public let origin: String

    public init(version: HLCTimestamp, origin: String) {
        self.version = version
        self.origin = origin
    }

    public static func < (a: RecordVersion, b: RecordVersion) -> Bool {
        a.version != b.version ? a.version < b.version : a.origin < b.origin
    }

    public var description: String { "\(version)@\(origin)" }
}

/// Last-write-wins per record, deletes included: a delete is a tombstone with a version,
/// and only a strictly newer write replaces either. Comparing whole-record states this way
/// is commutative, associative and idempotent, so every node reaches the same result
/// whatever the order, duplication or delay of deliveries.
public enum LastWriterWins {
    /// Whether `incoming` replaces the current state (record or tombstone) versioned `existing`.
    public static func wins(_ incoming: RecordVersion, over existing: RecordVersion?) -> Bool {
        guard let existing else { return true }
        return incoming > existing
    }
}
