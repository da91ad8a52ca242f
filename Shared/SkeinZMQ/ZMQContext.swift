import CZMQ
import Foundation

/// The process-wide ZeroMQ context. Thread-safe (ZeroMQ contexts are).
public final class ZMQContext: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    public static let shared = ZMQContext()

    public init() {
        handle = zmq_ctx_new()
    }

    deinit { zmq_ctx_term(handle) }

    /// Terminates the context: waits (up to `timeoutSeconds`) until every socket is closed
    /// and the messages they still hold (per their linger) are sent. Call right before
    /// `exit`, after closing every socket, so last replies go out. The context is unusable after.
    public func drain(timeoutSeconds: Double = 3) {
        let done = DispatchSemaphore(value: 0)
        let handle = self.handle
        nonisolated(unsafe) let h = handle
        Thread.detachNewThread {
            zmq_ctx_term(h)
            done.signal()
        }
        _ = done.wait(timeout: .now() + timeoutSeconds)
    }
}
