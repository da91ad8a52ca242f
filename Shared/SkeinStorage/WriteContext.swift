import SkeinCore

/// Who and when for one write: the HLC version every record and audit entry of the write
/// carries, the node it originated on, and the user.
public struct WriteContext: Sendable {
    public var version: HLCTimestamp
    public var origin: String
    public var user: String?
    public var auditEnabled: Bool
    /// Harper's `txn_time` and the `__createdtime__`/`__updatedtime__` value: milliseconds
    /// (the version's physical part, except for bootstrap writes).
    public var txnTime: Double

    public init(version: HLCTimestamp, origin: String, user: String?, auditEnabled: Bool = true) {
        self.version = version
        self.origin = origin
        self.user = user
        self.auditEnabled = auditEnabled
        txnTime = Double(version.millis)
    }

    /// The same write stamped with the bootstrap version (`HLCTimestamp.bootstrap`), so it
    /// never overwrites a record the cluster already has; its times stay real.
    public var bootstrap: WriteContext {
        var c = self
        c.version = .bootstrap
        return c
    }
}

public enum WriteMode: String, Sendable {
    case insert, update, upsert
}
