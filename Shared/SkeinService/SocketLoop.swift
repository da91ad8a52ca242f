import Foundation
import SkeinCore
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
