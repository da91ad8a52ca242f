import Foundation
import Logging
import SkeinCore
import SkeinZMQ

/// Calls another service of the node: many callers may have requests in flight at once;
/// replies are matched by request id.
///
/// A request fails fast with 503 "<service> unavailable" when it could not be handed to a
/// connected service (it provably never arrived: safe to retry), and with 504 "outcome
/// unknown" when it was sent and no reply came within the timeout, so a stopped process
/// never hangs a caller and a caller never mistakes a write that may have happened for one
/// that did not. Every request carries its `deadline` (ms since the epoch) in the header:
/// the store does not start a write whose caller stopped waiting. The transport reconnects
/// by itself when the service returns: a Unix stream socket on `ipc://` endpoints, written
/// by the calling thread (`UnixRPCClientTransport`), ZeroMQ with CURVE on `tcp://`
/// (`ZMQRPCClientTransport`).
public final class RPCClient: @unchecked Sendable {
    public let serviceName: String
    let endpoint: String
    let curve: CurveKeys?
    let timeoutMillis: Int
    let logger: Logger
    private let transport: any RPCClientTransport
    private let lock = NSLock()
    /// While (re)connecting, a request waits this long for the connection before failing:
    /// long enough to ride over a restart's reconnect, short enough that a stopped service
    /// still answers "unavailable" at once to a person.
    static let connectGraceMillis: UInt64 = 300
    private var pending: [UInt64: Pending] = [:]
    private var nextID: UInt64 = 1

    struct Pending {
        let deadline: UInt64
        let waitMillis: Int
        /// Handed to the transport: from then on a missing reply means "outcome unknown".
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
        if let path = UnixSocket.path(of: endpoint) {
            transport = UnixRPCClientTransport(path: path, name: "rpc-client-\(serviceName)")
        } else {
            transport = ZMQRPCClientTransport(endpoint: endpoint, curve: curve, name: "rpc-client-\(serviceName)", logger: logger)
        }
    }

    public func start() throws { try transport.start(self) }

    public func stop() { transport.stop() }

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
        let now = Self.nowMillis()
        let deadline = now + UInt64(wait)
        if transport.isStopping {
            complete(.failure(unavailable))
            return
        }
        lock.lock()
        let id = nextID
        nextID += 1
        pending[id] = Pending(deadline: deadline, waitMillis: wait, complete: complete)
        lock.unlock()
        let header = request.header.adding("deadline", JSON(deadline))
        transport.submit(OutgoingRequest(id: id, frames: [KeyCodec.encodeUInt64(id), header.serialized(), request.body],
                                         sendBy: min(deadline, now + Self.connectGraceMillis)))
    }

    // MARK: What the transport reports

    /// The request is with the service's connection: it may arrive.
    func handedOver(_ id: UInt64) {
        lock.withLock { pending[id]?.sent = true }
    }

    /// Tries to hand `requests` over with `send` (true: taken by the connection); returns
    /// those to try again, and fails with 503 those whose `sendBy` passed (they never arrived).
    func handOver(_ requests: [OutgoingRequest], now: UInt64, send: ([[UInt8]]) -> Bool) -> [OutgoingRequest] {
        var retry: [OutgoingRequest] = []
        for request in requests {
            if send(request.frames) {
                handedOver(request.id)
            } else if now < request.sendBy {
                retry.append(request)
            } else {
                finish(request.id, .failure(unavailable))
            }
        }
        return retry
    }

    /// A reply: `[request id][header][body]`.
    func received(_ frames: [[UInt8]]) {
        guard frames.count == 3 else { return }
        let id = KeyCodec.decodeUInt64(frames[0])
        let header = try? JSON.parse(frames[1])
        finish(id, .success(RPCReply(status: header?["status"]?.intValue ?? 500, body: frames[2], more: header?["more"]?.stringValue)))
    }

    /// Fails the requests whose deadline passed (the transport's thread calls it each turn).
    func expireTimedOut() {
        let now = Self.nowMillis()
        lock.lock()
        let expired = pending.filter { $0.value.deadline <= now }
        for id in expired.keys { pending[id] = nil }
        lock.unlock()
        for p in expired.values { p.complete(.failure(p.failure(serviceName))) }
    }

    /// The connection requests were sent on closed (the service stopped or died): those
    /// sent fail now with 504, their outcome unknown; those not sent yet wait on for the
    /// next connection (503 at their `sendBy`).
    func connectionLost() {
        lock.lock()
        let lost = pending.filter { $0.value.sent }
        for id in lost.keys { pending[id] = nil }
        lock.unlock()
        for p in lost.values {
            p.complete(.failure(.outcomeUnknown("the connection to \(serviceName) closed before its answer: the outcome is unknown")))
        }
    }

    /// The transport stopped: every request still waiting fails (504 when it was sent).
    func failAll() {
        lock.lock()
        let all = pending
        pending.removeAll()
        lock.unlock()
        for p in all.values { p.complete(.failure(p.failure(serviceName))) }
    }

    private func finish(_ id: UInt64, _ result: Result<RPCReply, SkeinError>) {
        lock.lock()
        let p = pending.removeValue(forKey: id)
        lock.unlock()
        p?.complete(result)
    }

    static func nowMillis() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }
}

/// A request on its way out: its frames, and until when it may wait for a connection.
struct OutgoingRequest {
    let id: UInt64
    let frames: [[UInt8]]
    let sendBy: UInt64
}

/// What carries an `RPCClient`'s requests and brings back the replies.
protocol RPCClientTransport: AnyObject, Sendable {
    /// Connects (reconnecting by itself later) and reports to `client` from now on.
    func start(_ client: RPCClient) throws
    /// Hands a request over now, or once connected (`RPCClient.handOver`): 503 when
    /// `sendBy` passed first.
    func submit(_ request: OutgoingRequest)
    var isStopping: Bool { get }
    /// Stops and fails every request still waiting (`RPCClient.failAll`).
    func stop()
}

final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Result<RPCReply, SkeinError>?
    func set(_ v: Result<RPCReply, SkeinError>) { lock.lock(); value = v; lock.unlock() }
    func get() -> Result<RPCReply, SkeinError> { lock.lock(); defer { lock.unlock() }; return value! }
}

