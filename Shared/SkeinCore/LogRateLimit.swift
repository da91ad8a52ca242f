/// A log line that a flood could repeat (a refused TLS handshake per connection attempt)
/// is written at most `burst` times per `intervalMillis`; the others are counted, and the
/// next line written says how many were not. A plain type driven by a clock.
public struct LogRateLimit: Sendable {
    public let burst: Int
    public let intervalMillis: UInt64
    private var windowStart: UInt64?
    private var written = 0
    private var dropped = 0

    public init(burst: Int = 10, intervalMillis: UInt64 = 60_000) {
        self.burst = burst
        self.intervalMillis = intervalMillis
    }

    /// nil: do not write this one (it is counted). Otherwise write it, noting the returned
    /// number of lines not written since the last one written.
    public mutating func admit(now: UInt64) -> Int? {
        if let start = windowStart, Self.since(start, now) < intervalMillis, written >= burst {
            dropped += 1
            return nil
        }
        if windowStart.map({ Self.since($0, now) >= intervalMillis }) ?? true {
            windowStart = now
            written = 0
        }
        written += 1
        defer { dropped = 0 }
        return dropped
    }

    /// Milliseconds from `then` to `now`, 0 when the clock went back.
    static func since(_ then: UInt64, _ now: UInt64) -> UInt64 { now >= then ? now - then : 0 }
}
