import CZMQ

/// The process-wide ZeroMQ context. Thread-safe (ZeroMQ contexts are).
public final class ZMQContext: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    public static let shared = ZMQContext()

    public init() {
        handle = zmq_ctx_new()
    }

    deinit { zmq_ctx_term(handle) }
}
