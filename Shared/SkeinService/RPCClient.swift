import Foundation
import Logging
import SkeinCore
import SkeinZMQ

/// Calls a service over a ZeroMQ DEALER socket owned by one background thread.
///
/// Many callers may have requests in flight at once; replies are matched by request id.
/// A request fails fast with 503 "<service> unavailable" when it could not be handed to a
/// connected service (it provably never arrived: safe to retry), and with 504 "outcome
/// unknown" when it was sent and no reply came within the timeout, so a stopped process
/// never hangs a caller and a caller never mistakes a write that may have happened for one
/// that did not. Every request carries its `deadline` (ms since the epoch) in the header:
/// the store does not start a write whose caller stopped waiting. ZeroMQ reconnects by
/// itself when the service returns.
public final class RPCClient: @unchecked Sendable {
    public let serviceName: String
    let endpoint: String
    let curve: CurveKeys?
    let timeoutMillis: Int
    let logger: Logger
    private let socketLoop = SocketLoop()
    private var wakeup: WakeupPipe { socketLoop.wakeup }
    private let lock = NSLock()
    private var outbox: [(id: UInt64, frames: [[UInt8]], sendBy: UInt64)] = []
    /// While (re)connecting, a request waits this long for the connection before failing:
    /// long enough to ride over a restart's reconnect, short enough that a stopped service
    /// still answers "unavailable" at once to a person.
    static let connectGraceMillis: UInt64 = 300
    private var pending: [UInt64: Pending] = [:]
    private var nextID: UInt64 = 1

    struct Pending {
        let deadline: UInt64
        let waitMillis: Int
        /// Handed to ZeroMQ: from then on a missing reply means "outcome unknown".
        var sent = false
        let complete: @Sendable (Result<RPCReply, SkeinError>) -> Void

        func failure(_ serviceName: String) -> SkeinError {
            sent ? .outcomeUnknown("\(serviceName) did not answer within \(waitMillis) ms (services.timeoutMs): the outcome is unknown")
                : .unavailable("\(serviceName) unavailable")
        }
    }

    /// `curve`: the node's keypair, required when `endpoint` is `tcp://` (`ServiceSocketSecurity`).
    public init(serviceName: String, endpoint: String, curve: CurveKeys? = nil, timeoutMillis: Int, logger: Logger) {
        self.serviceName = serviceName
        self.endpoint = endpoint
        self.curve = curve
        self.timeoutMillis = timeoutMillis
        self.logger = logger
    }

    public func start() throws {
        let socket = try ZMQSocket(type: .dealer)
        // Queue only to connected peers: with no store, send fails at once (503), no hang.
        try socket.setOption(ZMQ_IMMEDIATE_OPTION, 1)
        try socket.setOption(ZMQ_RECONNECT_IVL_OPTION, 100)
        try socket.setOption(ZMQ_RECONNECT_IVL_MAX_OPTION, 1000)
        try ServiceSocketSecurity.connect(socket, endpoint, keys: curve)
        socketLoop.start(name: "rpc-client-\(serviceName)", socket: socket) { [self] in loop($0) }
    }

    public func stop() { socketLoop.stop() }

    var unavailable: SkeinError { .unavailable("\(serviceName) unavailable") }

    /// Sends a request and waits for its reply.
    public func call(_ request: RPCRequest, timeoutMillis: Int? = nil) async throws(SkeinError) -> RPCReply {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<RPCReply, SkeinError>, Never>) in
            send(request, timeoutMillis: timeoutMillis) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    /// Convenience: header `{op, user, ...}`, JSON body; returns the parsed result or throws
    /// the reply's error.
    public func call(op: String, user: String? = nil, body: JSON, timeoutMillis: Int? = nil) async throws(SkeinError) -> JSON {
        var header: [String: JSON] = ["op": .string(op)]
        if let user { header["user"] = .string(user) }
        let reply = try await call(RPCRequest(header: .object(header), body: body.serialized()), timeoutMillis: timeoutMillis)
        return try reply.result()
    }

    /// Blocking variant for threads that are not async (tools, the benchmark).
    public func callBlocking(_ request: RPCRequest, timeoutMillis: Int? = nil) throws(SkeinError) -> RPCReply {
        let box = ResultBox()
        let done = DispatchSemaphore(value: 0)
        send(request, timeoutMillis: timeoutMillis) { result in
            box.set(result)
            done.signal()
        }
        done.wait()
        return try box.get().get()
    }

    func send(_ request: RPCRequest, timeoutMillis: Int?, complete: @escaping @Sendable (Result<RPCReply, SkeinError>) -> Void) {
        let wait = timeoutMillis ?? self.timeoutMillis
        let deadline = Self.nowMillis() + UInt64(wait)
        if socketLoop.isStopping {
            complete(.failure(unavailable))
            return
        }
        lock.lock()
        let id = nextID
        nextID += 1
        pending[id] = Pending(deadline: deadline, waitMillis: wait, complete: complete)
        let now = Self.nowMillis()
        let header = request.header.adding("deadline", JSON(deadline))
        outbox.append((id, [KeyCodec.encodeUInt64(id), header.serialized(), request.body], min(deadline, now + Self.connectGraceMillis)))
        lock.unlock()
        wakeup.wake()
    }

    private func finish(_ id: UInt64, _ result: Result<RPCReply, SkeinError>) {
        lock.lock()
        let p = pending.removeValue(forKey: id)
        lock.unlock()
        p?.complete(result)
    }

    static func nowMillis() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }

    private func loop(_ socket: ZMQSocket) {
        defer {
            lock.lock()
            let all = pending
            pending.removeAll()
            lock.unlock()
            for p in all.values { p.complete(.failure(p.failure(serviceName))) }
        }
        while true {
            if socketLoop.isStopping { return }
            lock.lock()
            let toSend = outbox
            outbox.removeAll(keepingCapacity: true)
            lock.unlock()
            var retry: [(id: UInt64, frames: [[UInt8]], sendBy: UInt64)] = []
            let now = Self.nowMillis()
            for item in toSend {
                let sent = (try? socket.send(item.frames, dontWait: true)) ?? false
                if sent {
                    lock.lock()
                    pending[item.id]?.sent = true
                    lock.unlock()
                    continue
                }
                if now < item.sendBy { retry.append(item) } else { finish(item.id, .failure(unavailable)) }
            }
            if !retry.isEmpty {
                lock.lock()
                outbox.insert(contentsOf: retry, at: 0)
                lock.unlock()
            }
            expireTimedOut()
            do {
                let ready = try ZMQPoller.pollIn([.socket(socket), .fd(wakeup.readEnd)], timeoutMillis: retry.isEmpty ? 100 : 5)
                if ready[1] { wakeup.drain() }
                guard ready[0] else { continue }
                while let frames = try socket.receive(dontWait: true) {
                    guard frames.count == 3 else { continue }
                    let id = KeyCodec.decodeUInt64(frames[0])
                    let header = try? JSON.parse(frames[1])
                    finish(id, .success(RPCReply(status: header?["status"]?.intValue ?? 500, body: frames[2], more: header?["more"]?.stringValue)))
                }
            } catch {
                logger.error("rpc client loop: \(error)")
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
    }

    private func expireTimedOut() {
        let now = Self.nowMillis()
        lock.lock()
        let expired = pending.filter { $0.value.deadline <= now }
        for id in expired.keys { pending[id] = nil }
        lock.unlock()
        for p in expired.values { p.complete(.failure(p.failure(serviceName))) }
    }
}

final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Result<RPCReply, SkeinError>?
    func set(_ v: Result<RPCReply, SkeinError>) { lock.lock(); value = v; lock.unlock() }
    func get() -> Result<RPCReply, SkeinError> { lock.lock(); defer { lock.unlock() }; return value! }
}

let ZMQ_IMMEDIATE_OPTION: Int32 = 39
let ZMQ_RECONNECT_IVL_OPTION: Int32 = 18
let ZMQ_RECONNECT_IVL_MAX_OPTION: Int32 = 21
