import Foundation

/// A node's physical clock in milliseconds since the epoch. A value, so the stores, the
/// replication machines and the simulation all read time the same way; `offsetMillis`
/// exists for fault injection (a node whose clock runs ahead), set by `testing.clockOffsetMs`.
public struct WallClock: Sendable {
    public var offsetMillis: Int64

    public init(offsetMillis: Int64 = 0) { self.offsetMillis = offsetMillis }

    public func nowMillis() -> UInt64 {
        let machine = Int64(Date().timeIntervalSince1970 * 1000)
        return UInt64(max(1, machine + offsetMillis))
    }
}
