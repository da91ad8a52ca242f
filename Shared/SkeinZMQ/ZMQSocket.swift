import CZMQ
import Foundation

public enum ZMQSocketType: Int32, Sendable {
    case pub = 1, sub = 2, dealer = 5, router = 6, pair = 0, push = 8, pull = 7, rep = 4

    var raw: Int32 {
        switch self {
        case .pair: ZMQ_PAIR
        case .pub: ZMQ_PUB
        case .sub: ZMQ_SUB
        case .dealer: ZMQ_DEALER
        case .router: ZMQ_ROUTER
        case .push: ZMQ_PUSH
        case .pull: ZMQ_PULL
        case .rep: ZMQ_REP
        }
    }
}

/// A ZeroMQ socket. Not thread-safe: the thread that uses it owns it (ZeroMQ's rule).
/// Linger is 0 so closing never blocks on unsent messages.
/// `@unchecked Sendable` only so a socket can be handed over to the thread that will own it.
public final class ZMQSocket: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer
    private var closed = false

    public init(_ context: ZMQContext = .shared, type: ZMQSocketType) throws(ZMQError) {
        guard let h = zmq_socket(context.handle, type.raw) else { throw ZMQError.last("socket") }
        handle = h
        try setOption(ZMQ_LINGER, 0)
    }

    deinit { close() }

    public func close() {
        if closed { return }
        closed = true
        zmq_close(handle)
    }

    public func setOption(_ option: Int32, _ value: Int32) throws(ZMQError) {
        var v = value
        if zmq_setsockopt(handle, option, &v, MemoryLayout<Int32>.size) != 0 { throw ZMQError.last("setsockopt \(option)") }
    }

    public func setOption(_ option: Int32, bytes: [UInt8]) throws(ZMQError) {
        let rc = bytes.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }
        if rc != 0 { throw ZMQError.last("setsockopt \(option)") }
    }

    /// Binds; for `ipc://` endpoints a stale socket file from a killed process is removed first.
    public func bind(_ endpoint: String) throws(ZMQError) {
        if endpoint.hasPrefix("ipc://") { IPCPath.prepareForBind(String(endpoint.dropFirst(6))) }
        if zmq_bind(handle, endpoint) != 0 { throw ZMQError.last("bind \(endpoint)") }
    }

    public func connect(_ endpoint: String) throws(ZMQError) {
        if zmq_connect(handle, endpoint) != 0 { throw ZMQError.last("connect \(endpoint)") }
    }

    public func subscribe(_ prefix: [UInt8] = []) throws(ZMQError) {
        try setOption(ZMQ_SUBSCRIBE, bytes: prefix)
    }

    /// Sends a multipart message. Returns false when it would block (no peer ready, or the
    /// queue is full) and `dontWait` is set.
    @discardableResult
    public func send(_ frames: [[UInt8]], dontWait: Bool = true) throws(ZMQError) -> Bool {
        for (i, frame) in frames.enumerated() {
            var flags: Int32 = dontWait ? ZMQ_DONTWAIT : 0
            if i < frames.count - 1 { flags |= ZMQ_SNDMORE }
            let rc = frame.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, flags) }
            if rc < 0 {
                let err = zmq_errno()
                if err == EAGAIN && i == 0 { return false }
                if err == EHOSTUNREACH { return false }
                throw ZMQError(code: err, operation: "send")
            }
        }
        return true
    }

    /// Receives one multipart message; nil when none is waiting and `dontWait` is set.
    public func receive(dontWait: Bool = true) throws(ZMQError) -> [[UInt8]]? {
        var frames: [[UInt8]] = []
        // zmq_msg_t is opaque and must not be copied by value: keep it on the heap.
        let msg = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
        defer { msg.deallocate() }
        while true {
            zmq_msg_init(msg)
            let rc = zmq_msg_recv(msg, handle, dontWait ? ZMQ_DONTWAIT : 0)
            if rc < 0 {
                let err = zmq_errno()
                zmq_msg_close(msg)
                if err == EAGAIN && frames.isEmpty { return nil }
                if err == EINTR && frames.isEmpty { return nil }
                throw ZMQError(code: err, operation: "receive")
            }
            let size = zmq_msg_size(msg)
            if size > 0, let data = zmq_msg_data(msg) {
                frames.append(Array(UnsafeRawBufferPointer(start: data, count: size)))
            } else {
                frames.append([])
            }
            let more = zmq_msg_more(msg) != 0
            zmq_msg_close(msg)
            if !more { return frames }
        }
    }
}

/// What to wait for in `ZMQPoller`: a socket or a plain file descriptor (a wake-up pipe).
public enum ZMQPollTarget {
    case socket(ZMQSocket)
    case fd(Int32)
}

public enum ZMQPoller {
    /// Waits up to `timeoutMillis` (-1 forever) for input; returns which targets are readable.
    public static func pollIn(_ targets: [ZMQPollTarget], timeoutMillis: Int) throws(ZMQError) -> [Bool] {
        var items = targets.map { t -> zmq_pollitem_t in
            switch t {
            case .socket(let s): return zmq_pollitem_t(socket: s.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)
            case .fd(let fd): return zmq_pollitem_t(socket: nil, fd: fd, events: Int16(ZMQ_POLLIN), revents: 0)
            }
        }
        let rc = zmq_poll(&items, Int32(items.count), timeoutMillis)
        if rc < 0 {
            if zmq_errno() == EINTR { return Array(repeating: false, count: items.count) }
            throw ZMQError.last("poll")
        }
        return items.map { ($0.revents & Int16(ZMQ_POLLIN)) != 0 }
    }
}
