import Foundation
import Logging
import SkeinCore
import SkeinZMQ

/// An `RPCServer` on a ZeroMQ ROUTER socket (`tcp://` endpoints, with CURVE), owned by one
/// thread: replies made on other threads are queued and sent by it, woken through a pipe; a
/// reply made on the socket's thread itself (a handler that answered at once) leaves before
/// the next poll, with no wake-up.
final class ZMQRPCServerTransport: RPCServerTransport, @unchecked Sendable {
    let endpoint: String
    let curve: CurveKeys?
    let logger: Logger
    private let socketLoop = SocketLoop()
    private let lock = NSLock()
    private var outbox: [[[UInt8]]] = []
    /// The socket's thread (set when its loop starts).
    private var socketThread: pthread_t?

    init(endpoint: String, curve: CurveKeys?, logger: Logger) {
        self.endpoint = endpoint
        self.curve = curve
        self.logger = logger
    }

    func start(_ server: RPCServer) throws {
        let socket = try ZMQSocket(type: .router)
        try socket.setOption(ZMQ_ROUTER_MANDATORY_OPTION, 0)
        try ServiceSocketSecurity.bind(socket, endpoint, keys: curve, logger: logger)
        socketLoop.start(name: "rpc-server", socket: socket) { [self] in loop($0, server) }
    }

    func stop() { socketLoop.stop() }

    private func enqueue(_ frames: [[UInt8]]) {
        lock.lock()
        outbox.append(frames)
        let onSocketThread = socketThread.map { pthread_equal($0, pthread_self()) != 0 } ?? false
        lock.unlock()
        if !onSocketThread { socketLoop.wakeup.wake() }
    }

    private func loop(_ socket: ZMQSocket, _ server: RPCServer) {
        lock.withLock { socketThread = pthread_self() }
        while true {
            let done = socketLoop.isStopping
            let pending = lock.withLock {
                defer { outbox.removeAll(keepingCapacity: true) }
                return outbox
            }
            for frames in pending {
                do { try socket.send(frames, dontWait: true) } catch { logger.warning("reply not sent: \(error)") }
            }
            if done {
                // Requests that arrived but were never handed over get a definite answer
                // (not applied) rather than none; replies must still leave: linger on close.
                let answer = server.closingAnswer
                while let frames = try? socket.receive(dontWait: true), frames.count == 4 {
                    try? socket.send([frames[0]] + RPCServer.frames(frames[1], answer), dontWait: true)
                }
                try? socket.setOption(ZMQ_LINGER_OPTION, 2000)
                return
            }
            do {
                let ready = try ZMQPoller.pollIn([.socket(socket), .fd(socketLoop.wakeup.readEnd)], timeoutMillis: 1000)
                if ready[1] { socketLoop.wakeup.drain() }
                guard ready[0] else { continue }
                // Drain everything waiting, so bursts are batched for the handler.
                while let frames = try socket.receive(dontWait: true) {
                    // [identity][request id][header][body]
                    guard let identity = frames.first else { continue }
                    server.dispatch(Array(frames.dropFirst())) { [weak self] reply in self?.enqueue([identity] + reply) }
                }
            } catch {
                logger.error("rpc loop: \(error)")
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
    }
}

let ZMQ_LINGER_OPTION: Int32 = 17
// ZMQ_ROUTER_MANDATORY: unroutable replies (the caller went away) are dropped silently.
let ZMQ_ROUTER_MANDATORY_OPTION: Int32 = 33
