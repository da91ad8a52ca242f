import Foundation
import Logging
import SkeinCore
import SkeinZMQ

/// Commit notices: after every durable commit `store` publishes
/// `[database name][{"database": ..., "seq": last audit sequence}]` on a PUB socket, so
/// `auditd` (and later the replicator) wake up without polling. A notice may be lost (a
/// subscriber that was down); readers always re-read the log from their own position, so a
/// notice is a hint, never the data.
public final class NoticePublisher {
    let socket: ZMQSocket

    /// `curve`: the node's keypair, required when `endpoint` is `tcp://` (`ServiceSocketSecurity`).
    public init(endpoint: String, curve: CurveKeys? = nil, logger: Logger) throws {
        socket = try ZMQSocket(type: .pub)
        try ServiceSocketSecurity.bind(socket, endpoint, keys: curve, logger: logger)
    }

    /// Must be called from the thread that owns the publisher.
    public func publish(database: String, notice: JSON) {
        _ = try? socket.send([Array(database.utf8), notice.serialized()], dontWait: true)
    }

    public func close() { socket.close() }
}

/// Receives commit notices on its own thread and calls `onNotice(database, notice)`.
public final class NoticeSubscriber: @unchecked Sendable {
    let endpoint: String
    let curve: CurveKeys?
    let onNotice: @Sendable (String, JSON) -> Void
    private let socketLoop = SocketLoop()

    public init(endpoint: String, curve: CurveKeys? = nil, onNotice: @escaping @Sendable (String, JSON) -> Void) {
        self.endpoint = endpoint
        self.curve = curve
        self.onNotice = onNotice
    }

    public func start() throws {
        try socketLoop.subscribe(name: "notices", endpoint: endpoint, curve: curve) { [onNotice] frames in
            guard frames.count == 2, let notice = try? JSON.parse(frames[1]) else { return }
            onNotice(String(decoding: frames[0], as: UTF8.self), notice)
        }
    }

    public func stop() { socketLoop.stop() }
}
