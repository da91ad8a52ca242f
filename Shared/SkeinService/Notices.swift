import Foundation
import Logging
import SkeinCore
import SkeinZMQ

/// Commit notices: after every durable commit `store` publishes
/// `[database name][{"database": ..., "seq": last audit sequence}]` (a `Publication`), so
/// `auditd` wakes up without polling. A notice may be lost (a subscriber that was down);
/// readers always re-read the log from their own position, so a notice is a hint, never the
/// data.
public final class NoticePublisher {
    let publication: Publication
    /// Bytes waiting for one subscriber before notices to it are dropped (~16,000 notices).
    static let maxQueuedBytes = 1 << 20

    /// `curve`: the node's keypair, required when `endpoint` is `tcp://` (`ServiceSocketSecurity`).
    public init(endpoint: String, curve: CurveKeys? = nil, logger: Logger) throws {
        publication = try Publication(endpoint: endpoint, curve: curve, maxQueuedBytes: Self.maxQueuedBytes, logger: logger)
    }

    /// Must be called from the thread that owns the publisher.
    public func publish(database: String, notice: JSON) {
        publication.publish([Array(database.utf8), notice.serialized()])
    }

    public func close() { publication.close() }
}

/// Receives commit notices on its own thread and calls `onNotice(database, notice)`.
public final class NoticeSubscriber: @unchecked Sendable {
    let endpoint: String
    let curve: CurveKeys?
    let onNotice: @Sendable (String, JSON) -> Void
    private let subscription: Subscription

    public init(endpoint: String, curve: CurveKeys? = nil, onNotice: @escaping @Sendable (String, JSON) -> Void) {
        self.endpoint = endpoint
        self.curve = curve
        self.onNotice = onNotice
        subscription = Subscription(name: "notices", endpoint: endpoint, curve: curve) { frames in
            guard frames.count == 2, let notice = try? JSON.parse(frames[1]) else { return }
            onNotice(String(decoding: frames[0], as: UTF8.self), notice)
        }
    }

    public func start() throws { try subscription.start() }

    public func stop() { subscription.stop() }
}
