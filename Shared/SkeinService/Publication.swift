import Foundation
import Logging
import SkeinCore
import SkeinZMQ

/// A feed a service publishes to the node's other services (commit notices, the commit
/// feed): a Unix stream socket on `ipc://` endpoints (`UnixPublisher`: the publishing thread
/// writes to each subscriber itself), ZeroMQ PUB with CURVE on `tcp://`. Either may drop a
/// message for a subscriber that was away or fell behind: readers treat it as a hint.
final class Publication: @unchecked Sendable {
    private let unix: UnixPublisher?
    private let zmq: ZMQSocket?

    /// `highWaterMark`: messages ZeroMQ queues per subscriber before it drops (nil: its
    /// default); `maxQueuedBytes`: the same bound on a Unix socket, in bytes.
    init(endpoint: String, curve: CurveKeys?, highWaterMark: Int32? = nil, maxQueuedBytes: Int, logger: Logger) throws {
        if let path = UnixSocket.path(of: endpoint) {
            unix = try UnixPublisher(path: path, maxQueuedBytes: maxQueuedBytes)
            zmq = nil
        } else {
            let socket = try ZMQSocket(type: .pub)
            if let highWaterMark { try socket.setOption(ZMQ_SNDHWM_OPTION, highWaterMark) }
            try ServiceSocketSecurity.bind(socket, endpoint, keys: curve, logger: logger)
            (unix, zmq) = (nil, socket)
        }
    }

    /// On ZeroMQ, only from the thread that owns the publication (its socket's rule).
    func publish(_ frames: [[UInt8]]) {
        if let unix { unix.publish(frames) } else { _ = try? zmq?.send(frames, dontWait: true) }
    }

    func close() {
        unix?.close()
        zmq?.close()
    }
}

/// The other end of a `Publication`: messages arrive on a thread of its own and go to
/// `onMessage`, until `stop`.
final class Subscription: @unchecked Sendable {
    private let unix: UnixSubscriber?
    private let zmq: (loop: SocketLoop, endpoint: String, curve: CurveKeys?, highWaterMark: Int32?)?
    private let name: String
    private let onMessage: @Sendable ([[UInt8]]) -> Void

    init(name: String, endpoint: String, curve: CurveKeys?, highWaterMark: Int32? = nil, onMessage: @escaping @Sendable ([[UInt8]]) -> Void) {
        self.name = name
        self.onMessage = onMessage
        if let path = UnixSocket.path(of: endpoint) {
            unix = UnixSubscriber(path: path, name: name, onMessage: onMessage)
            zmq = nil
        } else {
            unix = nil
            zmq = (SocketLoop(), endpoint, curve, highWaterMark)
        }
    }

    func start() throws {
        if let unix { unix.start() }
        if let zmq {
            try zmq.loop.subscribe(name: name, endpoint: zmq.endpoint, curve: zmq.curve, highWaterMark: zmq.highWaterMark, onMessage: onMessage)
        }
    }

    func stop() {
        unix?.stop()
        zmq?.loop.stop()
    }
}
