import Foundation
import Logging
import SkeinCore
import SkeinZMQ

/// The request side of a service: a ZeroMQ ROUTER socket on its own thread.
///
/// Requests are handed to `handler`, on the socket's thread, with a `respond` closure that
/// may be called later, from any thread: replies are queued and sent by the socket's thread
/// (ZeroMQ sockets are not thread-safe), woken through a pipe. So a handler queues its work
/// and returns, and a slow write never blocks a quick read; one that takes microseconds may
/// answer at once, and its reply leaves before the next poll, with no wake-up.
public final class RPCServer: @unchecked Sendable {
    public typealias Respond = @Sendable (RPCReply) -> Void
    public typealias Handler = @Sendable (RPCRequest, @escaping Respond) -> Void

    let endpoint: String
    let curve: CurveKeys?
    let handler: Handler
    let logger: Logger
    private let socketLoop = SocketLoop()
    private var wakeup: WakeupPipe { socketLoop.wakeup }
    private let lock = NSLock()
    private var outbox: [[[UInt8]]] = []
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
    }

    /// Binds and starts serving; throws if the endpoint cannot be bound.
    public func start() throws {
        let socket = try ZMQSocket(type: .router)
        try socket.setOption(ZMQ_ROUTER_MANDATORY_OPTION, 0)
        try ServiceSocketSecurity.bind(socket, endpoint, keys: curve, logger: logger)
        socketLoop.start(name: "rpc-server", socket: socket) { [self] in loop($0) }
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
    public func stop() { socketLoop.stop() }

    /// The socket's thread (set when its loop starts). A reply queued on it comes from a
    /// handler that answered at once (`StoreService.answersInline`): the loop sends it before
    /// it polls again, so it needs no wake-up through the pipe.
    private var socketThread: pthread_t?

    private func enqueue(_ frames: [[UInt8]]) {
        lock.lock()
        outbox.append(frames)
        let onSocketThread = socketThread.map { pthread_equal($0, pthread_self()) != 0 } ?? false
        lock.unlock()
        if !onSocketThread { wakeup.wake() }
    }

    private func loop(_ socket: ZMQSocket) {
        lock.withLock { socketThread = pthread_self() }
        while true {
            let done = socketLoop.isStopping
            lock.lock()
            let pending = outbox
            outbox.removeAll(keepingCapacity: true)
            lock.unlock()
            for frames in pending {
                do { try socket.send(frames, dontWait: true) } catch { logger.warning("reply not sent: \(error)") }
            }
            if done {
                // Requests that arrived but were never handed over get a definite answer
                // (not applied) rather than none; replies must still leave: linger on close.
                let answer = dispatchLock.withLock { self.refusal } ?? SkeinError.unavailable("service is shutting down")
                while let frames = try? socket.receive(dontWait: true), frames.count == 4 {
                    try? socket.send(Self.frames(frames[0], frames[1], RPCReply(error: answer)), dontWait: true)
                }
                try? socket.setOption(ZMQ_LINGER_OPTION, 2000)
                return
            }
            do {
                let ready = try ZMQPoller.pollIn([.socket(socket), .fd(wakeup.readEnd)], timeoutMillis: 1000)
                if ready[1] { wakeup.drain() }
                guard ready[0] else { continue }
                // Drain everything waiting, so bursts are batched for the handler.
                while let frames = try socket.receive(dontWait: true) {
                    dispatch(frames)
                }
            } catch {
                logger.error("rpc loop: \(error)")
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
    }

    private func dispatch(_ frames: [[UInt8]]) {
        // [identity][request id][header][body]
        guard frames.count == 4 else {
            logger.warning("malformed request: \(frames.count) frames")
            return
        }
        let identity = frames[0], requestID = frames[1]
        let header: JSON
        do { header = try JSON.parse(frames[2]) } catch {
            enqueue(Self.frames(identity, requestID, RPCReply(error: .badRequest("malformed request header"))))
            return
        }
        let request = RPCRequest(header: header, body: frames[3])
        let refused: SkeinError? = dispatchLock.withLock {
            if let refusal { return refusal }
            // Handlers only queue the work (a reply may come from any thread, later).
            handler(request) { [weak self] reply in
                self?.enqueue(Self.frames(identity, requestID, reply))
            }
            return nil
        }
        if let refused { enqueue(Self.frames(identity, requestID, RPCReply(error: refused))) }
    }

    /// A reply on the wire: `[identity][request id][header][body]`.
    static func frames(_ identity: [UInt8], _ requestID: [UInt8], _ reply: RPCReply) -> [[UInt8]] {
        [identity, requestID, reply.header, reply.body]
    }
}

let ZMQ_LINGER_OPTION: Int32 = 17
// ZMQ_ROUTER_MANDATORY: unroutable replies (the caller went away) are dropped silently.
let ZMQ_ROUTER_MANDATORY_OPTION: Int32 = 33
