import Foundation
import Logging
import SkeinCore
import SkeinZMQ

/// The request side of a service: requests are handed to `handler` on the transport's
/// thread, with a `respond` closure that may be called later, from any thread. So a handler
/// queues its work and returns, and a slow write never blocks a quick read; one that takes
/// microseconds may answer at once. A Unix stream socket on `ipc://` endpoints
/// (`UnixRPCServerTransport`: a reply is written by the thread that makes it), ZeroMQ with
/// CURVE on `tcp://` (`ZMQRPCServerTransport`).
public final class RPCServer: @unchecked Sendable {
    public typealias Respond = @Sendable (RPCReply) -> Void
    public typealias Handler = @Sendable (RPCRequest, @escaping Respond) -> Void

    let endpoint: String
    let curve: CurveKeys?
    let handler: Handler
    let logger: Logger
    private let transport: any RPCServerTransport
    /// Set by `refuseNew`: requests are answered 503 at once instead of handled. Read and
    /// set under `dispatchLock`, held while a request is handed over: once `refuseNew`
    /// returns, no request is being or will be handed to the handler.
    private var refusal: SkeinError?
    private let dispatchLock = NSLock()

    /// `curve`: the node's keypair, required when `endpoint` is `tcp://` (`ServiceSocketSecurity`).
    public init(endpoint: String, curve: CurveKeys? = nil, logger: Logger, handler: @escaping Handler) {
        self.endpoint = endpoint
        self.curve = curve
        self.handler = handler
        self.logger = logger
        if let path = UnixSocket.path(of: endpoint) {
            transport = UnixRPCServerTransport(path: path, logger: logger)
        } else {
            transport = ZMQRPCServerTransport(endpoint: endpoint, curve: curve, logger: logger)
        }
    }

    /// Binds and starts serving; throws if the endpoint cannot be bound.
    public func start() throws {
        try transport.start(self)
        logger.info("listening", metadata: ["endpoint": .string(endpoint)])
    }

    /// The first step of a shutdown: every request from now on is answered `503 SERVICE is
    /// shutting down` without being handled (so it provably did not happen), while replies to
    /// the requests already handed over still go out.
    public func refuseNew(service: String) {
        dispatchLock.withLock { refusal = .unavailable("\(service) is shutting down") }
    }

    /// Sends what is queued, answers requests still waiting in the socket with the refusal,
    /// and closes the socket (lingering so the last replies leave).
    public func stop() { transport.stop() }

    // MARK: What the transport calls

    /// A request's frames, `[request id][header][body]`: handed to the handler (or refused),
    /// its reply's frames go to `reply`, `[request id][header][body]`, from any thread.
    func dispatch(_ frames: [[UInt8]], reply: @escaping @Sendable ([[UInt8]]) -> Void) {
        guard frames.count == 3 else {
            logger.warning("malformed request: \(frames.count) frames")
            return
        }
        let requestID = frames[0]
        let header: JSON
        do { header = try JSON.parse(frames[1]) } catch {
            reply(Self.frames(requestID, RPCReply(error: .badRequest("malformed request header"))))
            return
        }
        let request = RPCRequest(header: header, body: frames[2])
        let refused: SkeinError? = dispatchLock.withLock {
            if let refusal { return refusal }
            handler(request) { answer in reply(Self.frames(requestID, answer)) }
            return nil
        }
        if let refused { reply(Self.frames(requestID, RPCReply(error: refused))) }
    }

    /// The answer to a request still unread when the transport closes: it did not happen.
    var closingAnswer: RPCReply {
        RPCReply(error: dispatchLock.withLock { refusal } ?? SkeinError.unavailable("service is shutting down"))
    }

    /// A reply on the wire: `[request id][header][body]`.
    static func frames(_ requestID: [UInt8], _ reply: RPCReply) -> [[UInt8]] {
        [requestID, reply.header, reply.body]
    }
}

/// What brings an `RPCServer` its requests and carries its replies back.
protocol RPCServerTransport: AnyObject, Sendable {
    /// Binds and hands each request to `server.dispatch` from now on.
    func start(_ server: RPCServer) throws
    /// Sends the replies already made, answers requests still unread with
    /// `server.closingAnswer`, and closes.
    func stop()
}
