import Foundation
import SkeinCore

/// Positions of a database's log that connected subscribers still need: each publisher
/// connection refreshes its peer's hold (the first entry the peer has not acknowledged, or
/// where a copy it is taking will stream from) every few seconds; a hold not refreshed for
/// `expiry` is gone (the peer disconnected). Retention by age keeps everything from the
/// lowest hold; the size cap (`logging.maxSize`) still applies, so a peer that never catches
/// up cannot fill the disk.
public final class LogHolds: @unchecked Sendable {
    public let expiry: TimeInterval
    private let lock = NSLock()
    private var holds: [String: [String: (from: UInt64, refreshed: Date)]] = [:]

    public init(expiry: TimeInterval = 30) { self.expiry = expiry }

    public func hold(database: String, peer: String, from: UInt64, now: Date = Date()) {
        lock.lock()
        holds[database, default: [:]][peer] = (from, now)
        lock.unlock()
    }

    /// The lowest live hold of `database` (nil: nobody holds anything).
    public func keepFrom(database: String, now: Date = Date()) -> UInt64? {
        live(now: now)[database]?.values.min()
    }

    /// Every live hold, by database and peer.
    public func live(now: Date = Date()) -> [String: [String: UInt64]] {
        lock.lock()
        defer { lock.unlock() }
        for (database, peers) in holds {
            holds[database] = peers.filter { now.timeIntervalSince($0.value.refreshed) < expiry }
        }
        return holds.mapValues { $0.mapValues(\.from) }.filter { !$0.value.isEmpty }
    }
}
