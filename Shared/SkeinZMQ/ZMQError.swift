import CZMQ

/// A ZeroMQ error with the library's message.
public struct ZMQError: Error, CustomStringConvertible, Sendable {
    public let code: Int32
    public let operation: String
    public var description: String { "ZeroMQ \(operation): \(String(cString: zmq_strerror(code))) (\(code))" }

    /// The context was terminated (`ZMQContext.drain`): a socket's thread should close it and end.
    public var isContextTerminated: Bool { code == ETERM }

    static func last(_ operation: String) -> ZMQError { ZMQError(code: zmq_errno(), operation: operation) }
}
