import Foundation
import SkeinZMQ

/// A thread that owns one ZeroMQ socket (ZeroMQ sockets are single-threaded), a pipe other
/// threads use to wake it, and a stop that waits until the socket is closed.
final class SocketLoop: @unchecked Sendable {
    let wakeup = WakeupPipe()
    private let lock = NSLock()
    private var stopping = false
    private var started = false
    private let stopped = DispatchSemaphore(value: 0)

    /// Runs `body` on a new thread until it returns (it should return once `isStopping`).
    func start(name: String, socket: ZMQSocket, body: @escaping @Sendable (ZMQSocket) -> Void) {
        started = true
        let t = Thread { [self] in
            body(socket)
            socket.close()
            stopped.signal()
        }
        t.name = name
        t.start()
    }

    var isStopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    func stop() {
        lock.lock()
        stopping = true
        lock.unlock()
        wakeup.wake()
        if started { stopped.wait() }
    }
}
