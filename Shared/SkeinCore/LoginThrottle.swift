/// Failed-login throttling for the operations API: a plain type driven by a clock, so its
/// rules are testable without sockets.
///
/// Failures count per (client address, username) and per client address. After
/// `freeFailures` failures of a pair, each further attempt of that pair must wait a delay
/// that doubles from 1 s up to `maxDelay`; an address with `addressLimit` failures across
/// usernames waits too. A success clears its pair. Counts are per address, so failures from
/// one address never lock the admin out from another. Memory is bounded: at most
/// `maxEntries` pairs and addresses are remembered (the stalest are forgotten first).
public struct LoginThrottle: Sendable {
    public var freeFailures = 5
    public var addressLimit = 50
    public var maxDelayMillis: UInt64 = 60_000
    /// Failures older than this are forgotten.
    public var windowMillis: UInt64 = 15 * 60_000
    public var maxEntries = 10_000

    struct Record {
        var failures: Int
        var lastFailure: UInt64
        /// Not before this time (ms): 0 when not throttled.
        var blockedUntil: UInt64
    }
    private var pairs: [String: Record] = [:]
    private var addresses: [String: Record] = [:]

    public init() {}

    /// Milliseconds `address` must wait before trying `username` again; nil: go ahead.
    public func wait(address: String, username: String, now: UInt64) -> UInt64? {
        let until = Swift.max(pairs[Self.pair(address, username)].map { live($0, now) } ?? 0,
                              addresses[address].map { live($0, now) } ?? 0)
        return until > now ? until - now : nil
    }

    public mutating func failed(address: String, username: String, now: UInt64) {
        let rules = (window: windowMillis, maxDelay: maxDelayMillis, maxEntries: maxEntries)
        Self.note(&pairs, Self.pair(address, username), limit: freeFailures, rules: rules, now: now)
        Self.note(&addresses, address, limit: addressLimit, rules: rules, now: now)
    }

    public mutating func succeeded(address: String, username: String) {
        pairs[Self.pair(address, username)] = nil
    }

    /// Remembered pairs and addresses (bounded by `maxEntries` each).
    public var entryCount: Int { pairs.count + addresses.count }

    private func live(_ r: Record, _ now: UInt64) -> UInt64 {
        Self.since(r.lastFailure, now) > windowMillis ? 0 : r.blockedUntil
    }

    /// Milliseconds from `then` to `now`, 0 when the clock went back.
    static func since(_ then: UInt64, _ now: UInt64) -> UInt64 { now >= then ? now - then : 0 }

    private static func note(_ table: inout [String: Record], _ key: String, limit: Int,
                             rules: (window: UInt64, maxDelay: UInt64, maxEntries: Int), now: UInt64) {
        var r = table[key] ?? Record(failures: 0, lastFailure: now, blockedUntil: 0)
        if since(r.lastFailure, now) > rules.window { r = Record(failures: 0, lastFailure: now, blockedUntil: 0) }
        r.failures += 1
        r.lastFailure = now
        if r.failures >= limit {
            let doublings = Swift.min(r.failures - limit, 16)
            r.blockedUntil = now + Swift.min(rules.maxDelay, 1000 << UInt64(doublings))
        }
        table[key] = r
        if table.count > rules.maxEntries { forgetStalest(&table, keep: rules.maxEntries * 3 / 4) }
    }

    private static func forgetStalest(_ table: inout [String: Record], keep: Int) {
        let stalest = table.sorted { $0.value.lastFailure < $1.value.lastFailure }.prefix(table.count - keep)
        for (k, _) in stalest { table[k] = nil }
    }

    private static func pair(_ address: String, _ username: String) -> String { address + "\u{0}" + username }
}
