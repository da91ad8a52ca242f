import Foundation
import Logging
import SkeinCore
import SkeinZMQ

/// An `RPCClient` over a ZeroMQ DEALER socket (`tcp://` endpoints, with CURVE): the socket
/// belongs to one thread, which sends what callers queued (woken through a pipe), reads
/// replies and expires requests.
final class ZMQRPCClientTransport: RPCClientTransport, @unchecked Sendable {
    let endpoint: String
    let curve: CurveKeys?
    let name: String
    let logger: Logger
    private let socketLoop = SocketLoop()
    private let lock = NSLock()
    private var outbox: [OutgoingRequest] = []

    init(endpoint: String, curve: CurveKeys?, name: String, logger: Logger) {
        self.endpoint = endpoint
        self.curve = curve
        self.name = name
        self.logger = logger
    }

    func start(_ client: RPCClient) throws {
        let socket = try ZMQSocket(type: .dealer)
        // Queue only to connected peers: with no server, send fails at once (503), no hang.
        try socket.setOption(ZMQ_IMMEDIATE_OPTION, 1)
        try socket.setOption(ZMQ_RECONNECT_IVL_OPTION, 100)
        try socket.setOption(ZMQ_RECONNECT_IVL_MAX_OPTION, 1000)
        try ServiceSocketSecurity.connect(socket, endpoint, keys: curve)
        socketLoop.start(name: name, socket: socket) { [self] in loop($0, client) }
    }

    var isStopping: Bool { socketLoop.isStopping }

    func stop() { socketLoop.stop() }

    func submit(_ request: OutgoingRequest) {
        lock.withLock { outbox.append(request) }
        socketLoop.wakeup.wake()
    }

    private func loop(_ socket: ZMQSocket, _ client: RPCClient) {
        defer { client.failAll() }
        while true {
            if socketLoop.isStopping { return }
            let toSend = lock.withLock {
                defer { outbox.removeAll(keepingCapacity: true) }
                return outbox
            }
            let retry = client.handOver(toSend, now: RPCClient.nowMillis()) { (try? socket.send($0, dontWait: true)) ?? false }
            if !retry.isEmpty { lock.withLock { outbox.insert(contentsOf: retry, at: 0) } }
            client.expireTimedOut()
            do {
                let ready = try ZMQPoller.pollIn([.socket(socket), .fd(socketLoop.wakeup.readEnd)], timeoutMillis: retry.isEmpty ? 100 : 5)
                if ready[1] { socketLoop.wakeup.drain() }
                guard ready[0] else { continue }
                while let frames = try socket.receive(dontWait: true) { client.received(frames) }
            } catch {
                logger.error("rpc client loop: \(error)")
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
    }
}

let ZMQ_IMMEDIATE_OPTION: Int32 = 39
let ZMQ_RECONNECT_IVL_OPTION: Int32 = 18
let ZMQ_RECONNECT_IVL_MAX_OPTION: Int32 = 21
