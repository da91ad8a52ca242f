import Foundation
import Logging
import SkeinCore
import SkeinZMQ

/// The store's commit feed (`services.storeFeed`, a `Publication`; docs/INTERFACES.md §5): after
/// each durable commit of a group that appended to a database's audit log, the store
/// publishes those entries as stored, so a replicator whose peers are caught up sends them
/// on without asking auditd to read them back (`RecentLog`).
///
/// One message per commit: `[database][{"log_id", "from", "through", "clock"}][entry]...`
/// (`clock`: the clock's high-water mark committed with them, an HLC raw value as decimal
/// text). Like a commit notice it is never the only copy: PUB drops messages past the high
/// water mark and a subscriber that was down misses some; a reader that finds a gap reads
/// the log itself.
public enum CommitFeed {
    /// Messages queued per subscriber before the feed drops (each holds one commit's
    /// entries): bounds the store's memory when a replicator stalls. On a Unix socket the
    /// bound is in bytes (128 commits of ~256 KiB).
    static let highWaterMark: Int32 = 128
    static let maxQueuedBytes = 32 << 20

    public struct Commit: Sendable {
        public var database: String
        public var log: String
        public var from: UInt64
        public var clock: UInt64?
        public var entries: [[UInt8]]

        public init(database: String, log: String, from: UInt64, clock: UInt64?, entries: [[UInt8]]) {
            self.database = database
            self.log = log
            self.from = from
            self.clock = clock
            self.entries = entries
        }

        var frames: [[UInt8]] {
            let meta: JSON = ["log_id": .string(log), "from": JSON(from), "through": JSON(from + UInt64(entries.count) - 1),
                              "clock": clock.map { .string(String($0)) } ?? .null]
            return [Array(database.utf8), meta.serialized()] + entries
        }

        init?(frames: [[UInt8]]) {
            guard frames.count >= 3, let meta = try? JSON.parse(frames[1]), let log = meta["log_id"]?.stringValue,
                  let from = meta["from"]?.intValue, from > 0,
                  meta["through"]?.intValue == from + frames.count - 3 else { return nil }
            database = String(decoding: frames[0], as: UTF8.self)
            self.log = log
            self.from = UInt64(from)
            clock = meta["clock"]?.stringValue.flatMap { UInt64($0) }
            entries = Array(frames[2...])
        }
    }

    /// The store's end. Must be used from the thread that owns it (the writer).
    public final class Publisher {
        let publication: Publication

        /// `curve`: the node's keypair, required when `endpoint` is `tcp://` (`ServiceSocketSecurity`).
        public init(endpoint: String, curve: CurveKeys? = nil, logger: Logger) throws {
            publication = try Publication(endpoint: endpoint, curve: curve, highWaterMark: CommitFeed.highWaterMark,
                                          maxQueuedBytes: CommitFeed.maxQueuedBytes, logger: logger)
        }

        public func publish(_ commit: Commit) {
            guard !commit.entries.isEmpty else { return }
            publication.publish(commit.frames)
        }

        public func close() { publication.close() }
    }

    /// A replicator's end: receives commits on its own thread and hands each to `onCommit`.
    public final class Subscriber: @unchecked Sendable {
        let endpoint: String
        let curve: CurveKeys?
        let onCommit: @Sendable (Commit) -> Void
        private let subscription: Subscription

        public init(endpoint: String, curve: CurveKeys? = nil, onCommit: @escaping @Sendable (Commit) -> Void) {
            self.endpoint = endpoint
            self.curve = curve
            self.onCommit = onCommit
            subscription = Subscription(name: "commit-feed", endpoint: endpoint, curve: curve, highWaterMark: CommitFeed.highWaterMark) { frames in
                if let commit = Commit(frames: frames) { onCommit(commit) }
            }
        }

        public func start() throws { try subscription.start() }

        public func stop() { subscription.stop() }
    }
}
