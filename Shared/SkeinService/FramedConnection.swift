import Foundation

/// One connected Unix stream socket carrying `FrameCodec` messages.
///
/// Any thread may `send`: the message is written at once by the calling thread (a reply
/// from the store's writer goes straight to the kernel, no thread hand-off). What the kernel
/// does not take is queued, in order, and written by the connection's loop thread when the
/// socket is writable (`wantsWrite`, `flush`). Reading and `release` are the loop thread's alone.
final class FramedConnection: @unchecked Sendable {
    let fd: Int32
    private let lock = NSLock()
    private var queued: [UInt8] = []
    private var queuedStart = 0
    private var closed = false
    private var reader = FrameCodec.Reader()
    /// Where `receive` reads into: the loop thread's alone, kept so a read allocates nothing.
    private var chunk = [UInt8](repeating: 0, count: 256 * 1024)

    init(fd: Int32) { self.fd = fd }

    enum Sent {
        /// All of it is with the kernel.
        case written
        /// Some or all of it waits for the loop thread: wake it so it polls for writability.
        case queued
        /// The connection is closed: nothing was written.
        case closed
        /// More than the limit already waits (a subscriber that fell behind): not sent.
        case dropped
    }

    func send(_ frames: [[UInt8]]) -> Sent { send(encoded: FrameCodec.encode(frames)) }

    /// Sends a message already encoded (`FrameCodec.encode`: a publisher encodes once for all
    /// its subscribers); with `limit`, drops it when more than `limit` bytes already wait.
    func send(encoded bytes: [UInt8], limit: Int? = nil) -> Sent {
        lock.lock()
        defer { lock.unlock() }
        if closed { return .closed }
        if queuedStart < queued.count {
            if let limit, queued.count - queuedStart > limit { return .dropped }
            queued.append(contentsOf: bytes)
            return .queued
        }
        let n = bytes.withUnsafeBytes { Self.write(fd, $0) }
        if n < 0 {
            closeLocked()
            return .closed
        }
        if n == bytes.count { return .written }
        queued.removeAll(keepingCapacity: true)
        queuedStart = 0
        queued.append(contentsOf: bytes[n...])
        return .queued
    }

    /// Whether bytes wait for the socket to become writable.
    var wantsWrite: Bool { lock.withLock { !closed && queuedStart < queued.count } }

    /// Writes what is queued, as much as the kernel takes. False when the connection failed.
    @discardableResult
    func flush() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if closed { return false }
        guard queuedStart < queued.count else { return true }
        let n = queued.withUnsafeBytes { Self.write(fd, UnsafeRawBufferPointer(rebasing: $0[queuedStart...])) }
        if n < 0 {
            closeLocked()
            return false
        }
        queuedStart += n
        if queuedStart == queued.count {
            queued.removeAll(keepingCapacity: queued.count <= 1 << 20)
            queuedStart = 0
        }
        return true
    }

    /// Reads what has arrived and returns the whole messages in it; nil when the peer closed
    /// the connection or sent something that is not a message (the connection is then closed).
    func receive() -> [[[UInt8]]]? {
        var messages: [[[UInt8]]] = []
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                chunk.withUnsafeBytes { reader.append(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
                do {
                    while let message = try reader.next() { messages.append(message) }
                } catch {
                    close()
                    return nil
                }
                if n < chunk.count { return messages }
                continue
            }
            if n < 0, errno == EINTR { continue }
            if n < 0, errno == EAGAIN || errno == EWOULDBLOCK { return messages }
            close()
            return messages.isEmpty ? nil : messages
        }
    }

    var isClosed: Bool { lock.withLock { closed } }

    /// Shuts the connection down (the loop thread sees it hang up); later sends answer
    /// `.closed`. Any thread may; only the loop thread `release`s the descriptor, so its
    /// number is never reused under a poll or read still using it.
    func close() { lock.withLock { closeLocked() } }

    private func closeLocked() {
        guard !closed else { return }
        closed = true
        queued = []
        queuedStart = 0
        shutdown(fd, Int32(SHUT_RDWR))
    }

    private var released = false

    /// Closes the descriptor: the loop thread's, once it stopped polling the connection.
    func release() {
        close()
        lock.withLock {
            guard !released else { return }
            released = true
            Glibc.close(fd)
        }
    }

    /// Bytes written (possibly 0 when the socket is full), or -1 when the connection failed.
    private static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int {
        var done = 0
        while done < bytes.count {
            let n = Glibc.send(fd, bytes.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL))
            if n > 0 { done += n; continue }
            if n < 0, errno == EINTR { continue }
            if n < 0, errno == EAGAIN || errno == EWOULDBLOCK { return done }
            return -1
        }
        return done
    }
}
