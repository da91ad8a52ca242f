import Foundation
import Logging
import SkeinZMQ

/// The publishing end of a feed on a Unix stream socket (a node's own `ipc://` endpoints):
/// every connected subscriber gets every message, written by the publishing thread itself
/// (the store's writer, right after its commit); what a subscriber's socket does not take
/// at once waits for this publisher's thread, and a subscriber with more than
/// `maxQueuedBytes` waiting loses messages until it catches up. What is published is a hint
/// (readers re-read the log on a gap), as on ZeroMQ's PUB, which drops the same way.
final class UnixPublisher: @unchecked Sendable {
    let maxQueuedBytes: Int
    private let loop = SocketLoop()
    private let lock = NSLock()
    private var subscribers: [FramedConnection] = []

    init(path: String, maxQueuedBytes: Int) throws {
        self.maxQueuedBytes = maxQueuedBytes
        let listener = try UnixSocket.listen(path)
        loop.start(name: "publisher") { [self] in serve(listener) }
    }

    func publish(_ frames: [[UInt8]]) {
        let current = lock.withLock { subscribers }
        guard !current.isEmpty else { return }
        let bytes = FrameCodec.encode(frames)
        var wake = false
        for subscriber in current where subscriber.send(encoded: bytes, limit: maxQueuedBytes) == .queued { wake = true }
        if wake { loop.wakeup.wake() }
    }

    func close() { loop.stop() }

    /// Accepts subscribers, writes what waits for them, and notices those that left.
    private func serve(_ listener: Int32) {
        defer {
            for c in lock.withLock({ subscribers }) { c.release() }
            Glibc.close(listener)
        }
        while !loop.isStopping {
            let current = lock.withLock { subscribers }
            var fds = [pollfd(fd: loop.wakeup.readEnd, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            for c in current {
                fds.append(pollfd(fd: c.fd, events: Int16(POLLIN) | (c.wantsWrite ? Int16(POLLOUT) : 0), revents: 0))
            }
            if poll(&fds, nfds_t(fds.count), 1000) <= 0 { continue }
            if fds[0].revents != 0 { loop.wakeup.drain() }
            for (i, c) in current.enumerated() {
                let events = fds[i + 2].revents
                if events & Int16(POLLOUT) != 0 { c.flush() }
                // A subscriber sends nothing: input is its end of the stream (or garbage).
                if events & (Int16(POLLIN) | Int16(POLLHUP) | Int16(POLLERR)) != 0 { _ = c.receive() }
            }
            var accepted: [FramedConnection] = []
            if fds[1].revents != 0 {
                while let fd = UnixSocket.accept(listener) { accepted.append(FramedConnection(fd: fd)) }
            }
            let gone = lock.withLock { () -> [FramedConnection] in
                subscribers += accepted
                let gone = subscribers.filter(\.isClosed)
                subscribers.removeAll { $0.isClosed }
                return gone
            }
            for c in gone { c.release() }
        }
    }
}

/// The subscribing end: connects (again every 100 ms while the publisher is away), reads
/// messages on its own thread and hands each to `onMessage`.
final class UnixSubscriber: @unchecked Sendable {
    let path: String
    let name: String
    let onMessage: @Sendable ([[UInt8]]) -> Void
    private let loop = SocketLoop()
    static let reconnectMillis: Int32 = 100

    init(path: String, name: String, onMessage: @escaping @Sendable ([[UInt8]]) -> Void) {
        self.path = path
        self.name = name
        self.onMessage = onMessage
    }

    func start() { loop.start(name: name) { [self] in run() } }

    func stop() { loop.stop() }

    private func run() {
        var connection: FramedConnection?
        defer { connection?.release() }
        while !loop.isStopping {
            if let c = connection, c.isClosed {
                c.release()
                connection = nil
            }
            if connection == nil { connection = UnixSocket.connect(path).map(FramedConnection.init) }
            var fds = [pollfd(fd: loop.wakeup.readEnd, events: Int16(POLLIN), revents: 0)]
            if let connection { fds.append(pollfd(fd: connection.fd, events: Int16(POLLIN), revents: 0)) }
            _ = poll(&fds, nfds_t(fds.count), connection == nil ? Self.reconnectMillis : 1000)
            if fds[0].revents != 0 { loop.wakeup.drain() }
            guard let connection, fds.count > 1, fds[1].revents != 0 else { continue }
            for message in connection.receive() ?? [] { onMessage(message) }
        }
    }
}
