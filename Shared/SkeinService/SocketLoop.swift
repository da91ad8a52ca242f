import Foundation
import SkeinCore
import SkeinZMQ

/// A thread that owns a socket (ZeroMQ sockets are single-threaded; a Unix transport's
/// reads are its loop's alone), a pipe other threads use to wake it, and a stop that waits
/// until the loop has returned.
final class SocketLoop: @unchecked Sendable {
    let wakeup = WakeupPipe()
    private let lock = NSLock()
    private var stopping = false
    private var started = false
    private let stopped = DispatchSemaphore(value: 0)

    /// Runs `body` on a new thread until it returns (it should return once `isStopping`).
    func start(name: String, body: @escaping @Sendable () -> Void) {
        lock.withLock { started = true }
        let t = Thread { [self] in
            body()
            stopped.signal()
        }
        t.name = name
        t.start()
    }

    /// Runs `body` with `socket` on a new thread, and closes the socket when it returns.
    func start(name: String, socket: ZMQSocket, body: @escaping @Sendable (ZMQSocket) -> Void) {
        start(name: name) {
            body(socket)
            socket.close()
        }
    }

    var isStopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    func stop() {
        let wait = lock.withLock {
            stopping = true
            return started
        }
        wakeup.wake()
        if wait { stopped.wait() }
    }

    /// A SUB socket (every topic) connected to `endpoint`, read on a new thread: each
    /// message's frames go to `onMessage` until `stop`. `highWaterMark`: messages queued
    /// before ZeroMQ drops (nil: its default).
    func subscribe(name: String, endpoint: String, curve: CurveKeys?, highWaterMark: Int32? = nil,
                   onMessage: @escaping @Sendable ([[UInt8]]) -> Void) throws {
        let socket = try ZMQSocket(type: .sub)
        if let highWaterMark { try socket.setOption(ZMQ_RCVHWM_OPTION, highWaterMark) }
        try socket.subscribe()
        try ServiceSocketSecurity.connect(socket, endpoint, keys: curve)
        start(name: name, socket: socket) { [self] socket in
            while !isStopping {
                guard let ready = try? ZMQPoller.pollIn([.socket(socket), .fd(wakeup.readEnd)], timeoutMillis: 1000) else { continue }
                if ready[1] { wakeup.drain() }
                guard ready[0] else { continue }
                while let frames = try? socket.receive(dontWait: true) { onMessage(frames) }
            }
        }
    }
}

let ZMQ_SNDHWM_OPTION: Int32 = 23
let ZMQ_RCVHWM_OPTION: Int32 = 24
