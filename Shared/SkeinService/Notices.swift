import Foundation
import Logging
import SkeinCore
import SkeinZMQ

/// Commit notices: after every durable commit `store` publishes
/// `[database name][{"database": ..., "seq": last audit sequence}]` on a PUB socket, so
/// `auditd` (and later the replicator) wake up without polling. A notice may be lost (a
/// subscriber that was down); readers always re-read the log from their own position, so a
/// notice is a hint, never the data.
public final class NoticePublisher {
    let socket: ZMQSocket

    public init(endpoint: String) throws {
        socket = try ZMQSocket(type: .pub)
        try socket.bind(endpoint)
    }

    /// Must be called from the thread that owns the publisher.
    public func publish(database: String, notice: JSON) {
        _ = try? socket.send([Array(database.utf8), notice.serialized()], dontWait: true)
    }

    public func close() { socket.close() }
}

/// Receives commit notices on its own thread and calls `onNotice(database, notice)`.
public final class NoticeSubscriber: @unchecked Sendable {
    let endpoint: String
    let onNotice: @Sendable (String, JSON) -> Void
    private let lock = NSLock()
    private var stopping = false
    private var thread: Thread?
    private let stopped = DispatchSemaphore(value: 0)

    public init(endpoint: String, onNotice: @escaping @Sendable (String, JSON) -> Void) {
        self.endpoint = endpoint
        self.onNotice = onNotice
    }

    public func start() throws {
        let socket = try ZMQSocket(type: .sub)
        try socket.subscribe()
        try socket.connect(endpoint)
        let t = Thread { [self] in
            defer { socket.close(); stopped.signal() }
            while true {
                lock.lock()
                let done = stopping
                lock.unlock()
                if done { return }
                guard let ready = try? ZMQPoller.pollIn([.socket(socket)], timeoutMillis: 200), ready[0] else { continue }
                while let frames = try? socket.receive(dontWait: true) {
                    guard frames.count == 2, let notice = try? JSON.parse(frames[1]) else { continue }
                    onNotice(String(decoding: frames[0], as: UTF8.self), notice)
                }
            }
        }
        t.name = "notices"
        thread = t
        t.start()
    }

    public func stop() {
        lock.lock()
        stopping = true
        lock.unlock()
        if thread != nil { stopped.wait() }
    }
}
