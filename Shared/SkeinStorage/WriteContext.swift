import SkeinCore

/// Who and when for one write: the HLC version every record and audit entry of the write
/// carries, the node it originated on, and the user.
public struct WriteContext: Sendable {
    public var version: HLCTimestamp
    public var origin: String
    public var user: String?
    public var auditEnabled: Bool

    public init(version: HLCTimestamp, origin: String, user: String?, auditEnabled: Bool = true) {
        self.version = version
        self.origin = origin
        self.user = user
        self.auditEnabled = auditEnabled
    }

    /// Harper's `txn_time` and the `__createdtime__`/`__updatedtime__` value: milliseconds.
    public var txnTime: Double { Double(version.millis) }
}

public enum WriteMode: String, Sendable {
    case insert, update, upsert
}
