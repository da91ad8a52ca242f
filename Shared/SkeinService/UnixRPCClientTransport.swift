import Foundation
import SkeinZMQ

/// An `RPCClient` over a Unix stream socket (a node's own `ipc://` endpoints).
///
/// The calling thread writes its request straight into the socket, and one thread reads the
/// replies and hands each to its caller: a call costs the server's wake-up and this
/// thread's, where ZeroMQ adds its I/O threads on both sides and a pipe wake-up. Requests
/// made while there is no connection wait for one until their `sendBy` (503 after it);
/// those sent on a connection that closes before their reply fail at once (504).
final class UnixRPCClientTransport: RPCClientTransport, @unchecked Sendable {
    let path: String
    let name: String
    private let socketLoop = SocketLoop()
    private var wakeup: WakeupPipe { socketLoop.wakeup }
    private let lock = NSLock()
    /// Replaced only by the loop thread (under `lock`); written by any thread.
    private var connection: FramedConnection?
    /// Requests waiting for a connection, oldest first.
    private var outbox: [OutgoingRequest] = []
    private weak var client: RPCClient?
    /// How often a lost connection is tried again while nothing waits for it.
    static let reconnectMillis: UInt64 = 100

    init(path: String, name: String) {
        self.path = path
        self.name = name
    }

    func start(_ client: RPCClient) throws {
        self.client = client
        lock.withLock { connection = UnixSocket.connect(path).map(FramedConnection.init) }
        socketLoop.start(name: name) { [self] in loop(client) }
    }

    var isStopping: Bool { socketLoop.isStopping }

    func stop() { socketLoop.stop() }

    func submit(_ request: OutgoingRequest) {
        lock.lock()
        guard let connection, outbox.isEmpty else {
            outbox.append(request)
            lock.unlock()
            wakeup.wake()
            return
        }
        lock.unlock()
        switch connection.send(request.frames) {
        case .written:
            client?.handedOver(request.id)
        case .queued:
            client?.handedOver(request.id)
            wakeup.wake()
        case .closed, .dropped:
            lock.withLock { outbox.append(request) }
            wakeup.wake()
        }
    }

    private func loop(_ client: RPCClient) {
        var nextConnect: UInt64 = 0
        while !isStopping {
            let now = RPCClient.nowMillis()
            var lost = false
            let (current, waiting) = lock.withLock { () -> (FramedConnection?, [OutgoingRequest]) in
                if let c = connection, c.isClosed {
                    c.release()
                    connection = nil
                    lost = true
                }
                if connection == nil, !outbox.isEmpty || now >= nextConnect {
                    connection = UnixSocket.connect(path).map(FramedConnection.init)
                    if connection == nil { nextConnect = now + Self.reconnectMillis }
                }
                defer { outbox.removeAll(keepingCapacity: true) }
                return (connection, outbox)
            }
            // Requests sent on the connection that closed get no answer: 504 now, not at their
            // deadline (a stopped store left its callers waiting services.timeoutMs).
            if lost { client.connectionLost() }
            let unsent = client.handOver(waiting, now: now) { current?.send($0) ?? .closed != .closed }
            if !unsent.isEmpty { lock.withLock { outbox.insert(contentsOf: unsent, at: 0) } }
            client.expireTimedOut()

            var fds = [pollfd(fd: wakeup.readEnd, events: Int16(POLLIN), revents: 0)]
            if let current, !current.isClosed {
                fds.append(pollfd(fd: current.fd, events: Int16(POLLIN) | (current.wantsWrite ? Int16(POLLOUT) : 0), revents: 0))
            }
            _ = poll(&fds, nfds_t(fds.count), unsent.isEmpty ? 100 : 5)
            if fds[0].revents != 0 { wakeup.drain() }
            guard let current, fds.count > 1, fds[1].revents != 0 else { continue }
            if fds[1].revents & Int16(POLLOUT) != 0 { current.flush() }
            if fds[1].revents & (Int16(POLLIN) | Int16(POLLHUP) | Int16(POLLERR)) != 0 {
                for frames in current.receive() ?? [] { client.received(frames) }
            }
        }
        lock.withLock {
            connection?.release()
            connection = nil
            outbox.removeAll()
        }
        client.failAll()
    }
}
