import Foundation
import Logging
import SkeinZMQ

/// An `RPCServer` on a Unix stream socket (a node's own `ipc://` endpoints).
///
/// One thread accepts connections and reads requests; a reply is written into its
/// connection by whichever thread makes it (the store's writer after its commit), so a
/// request costs one wake-up on this side. What a connection's socket cannot take at once
/// waits for this thread (`FramedConnection`).
final class UnixRPCServerTransport: RPCServerTransport, @unchecked Sendable {
    let path: String
    let logger: Logger
    private let loop = SocketLoop()
    private var wakeup: WakeupPipe { loop.wakeup }
    /// How long a stopping server waits for its last replies to leave.
    static let lingerMillis: UInt64 = 2000

    init(path: String, logger: Logger) {
        self.path = path
        self.logger = logger
    }

    func start(_ server: RPCServer) throws {
        let listener = try UnixSocket.listen(path)
        loop.start(name: "rpc-server") { [self] in serve(listener, server) }
    }

    func stop() { loop.stop() }

    private func serve(_ listener: Int32, _ server: RPCServer) {
        var connections: [FramedConnection] = []
        defer {
            for c in connections { c.release() }
            close(listener)
        }
        while true {
            if loop.isStopping {
                finish(connections, server)
                return
            }
            var fds = [pollfd(fd: wakeup.readEnd, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            for c in connections {
                fds.append(pollfd(fd: c.fd, events: Int16(POLLIN) | (c.wantsWrite ? Int16(POLLOUT) : 0), revents: 0))
            }
            if poll(&fds, nfds_t(fds.count), 1000) <= 0 { continue }
            if fds[0].revents != 0 { wakeup.drain() }
            let polled = connections
            if fds[1].revents != 0 {
                while let fd = UnixSocket.accept(listener) { connections.append(FramedConnection(fd: fd)) }
            }
            for (i, c) in polled.enumerated() {
                let events = fds[i + 2].revents
                if events & Int16(POLLOUT) != 0 { c.flush() }
                guard events & (Int16(POLLIN) | Int16(POLLHUP) | Int16(POLLERR)) != 0 else { continue }
                // Everything waiting is read at once, so bursts are batched for the handler.
                for frames in c.receive() ?? [] {
                    server.dispatch(frames) { [weak self, weak c] reply in
                        if c?.send(reply) == .queued { self?.wakeup.wake() }
                    }
                }
            }
            connections.removeAll { c in
                guard c.isClosed else { return false }
                c.release()
                return true
            }
        }
    }

    /// Requests that arrived but were never handed over get a definite answer (not applied)
    /// rather than none; the replies already made get up to `lingerMillis` to leave.
    private func finish(_ connections: [FramedConnection], _ server: RPCServer) {
        let answer = server.closingAnswer
        for c in connections {
            for frames in c.receive() ?? [] where frames.count == 3 {
                _ = c.send(RPCServer.frames(frames[0], answer))
            }
        }
        let until = RPCClient.nowMillis() + Self.lingerMillis
        while RPCClient.nowMillis() < until {
            let writing = connections.filter(\.wantsWrite)
            if writing.isEmpty { return }
            var fds = writing.map { pollfd(fd: $0.fd, events: Int16(POLLOUT), revents: 0) }
            _ = poll(&fds, nfds_t(fds.count), 10)
            for (i, c) in writing.enumerated() where fds[i].revents != 0 { c.flush() }
        }
    }
}
