/// Bytes per second received on a connection, over the last `windowMillis` as it slides, in
/// 1-second buckets: a transfer shows its rate from its first second on (a full copy shorter
/// than a window is not shown as 0, as it was with whole 5-second windows), and an idle link
/// falls to 0 within a window.
public struct ByteRate: Sendable, Equatable {
    public static let windowMillis: UInt64 = 5000
    static let bucketMillis: UInt64 = 1000
    static var windowBuckets: UInt64 { windowMillis / bucketMillis }

    /// Bytes per second of time (`now / bucketMillis`), oldest first, within the window.
    private var buckets: [Bucket] = []
    /// When the bytes arriving now started to flow (after a window or more with nothing).
    private var activeSince: UInt64 = 0
    private var lastAdded: UInt64?

    struct Bucket: Sendable, Equatable {
        var second: UInt64
        var bytes: Int
    }

    public init() {}

    public mutating func add(_ bytes: Int, now: UInt64) {
        if lastAdded.map({ now >= $0 + Self.windowMillis }) ?? true { activeSince = now }
        lastAdded = now
        let second = now / Self.bucketMillis
        if buckets.last?.second == second { buckets[buckets.count - 1].bytes += bytes } else { buckets.append(Bucket(second: second, bytes: bytes)) }
        buckets.removeAll { $0.second + Self.windowBuckets <= second }
    }

    /// Bytes per second over the window ending now (or since the flow started, when that is
    /// later; at least a second, so one early message is not blown up into a burst).
    public func rate(now: UInt64) -> Double {
        let second = now / Self.bucketMillis
        let bytes = buckets.filter { $0.second + Self.windowBuckets > second }.reduce(0) { $0 + $1.bytes }
        guard bytes > 0 else { return 0 }
        let windowStart = (second + 1 - min(second + 1, Self.windowBuckets)) * Self.bucketMillis
        let span = now - min(now, max(windowStart, activeSince))
        return Double(bytes) * 1000 / Double(max(span, Self.bucketMillis))
    }
}
