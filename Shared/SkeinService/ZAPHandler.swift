import Foundation
import Logging
import SkeinCore
import SkeinZMQ

/// The authentication hook of this process's CURVE servers (ZAP, RFC 27): ZeroMQ asks it,
/// over `inproc://zeromq.zap.01` in the servers' context, about every client that completed
/// the CURVE handshake. Without it any client knowing a server's public key would get in;
/// with it a server admits only the client key registered for its ZAP domain (the node's own
/// public key: one keypair per node). Refusals are logged, rate-limited (`LogRateLimit`: a
/// client retrying every second must not fill the disk).
public final class ZAPHandler: @unchecked Sendable {
    /// The handler of `ZMQContext.shared`, where every service socket lives.
    public static let shared = ZAPHandler()

    static let endpoint = "inproc://zeromq.zap.01"

    struct Domain {
        let clientKey: [UInt8]
        var logger: Logger
        var limit = LogRateLimit()
    }

    private let lock = NSLock()
    private var domains: [String: Domain] = [:]
    private var loop: SocketLoop?

    /// Admits `clientKey` to the servers that ask with `domain`, logging refusals to
    /// `logger`. Binds the handler on first use, before returning: call it before the server
    /// socket binds.
    public func admit(clientKey: [UInt8], domain: String, logger: Logger) throws {
        try lock.withLock {
            if domains[domain] == nil { domains[domain] = Domain(clientKey: clientKey, logger: logger) }
            domains[domain]?.logger = logger
            guard loop == nil else { return }
            let socket = try ZMQSocket(type: .rep)
            try socket.bind(Self.endpoint)
            let started = SocketLoop()
            started.start(name: "zap-handler", socket: socket) { [self] in serve($0, started) }
            loop = started
        }
    }

    private func serve(_ socket: ZMQSocket, _ loop: SocketLoop) {
        while !loop.isStopping {
            do {
                guard try ZMQPoller.pollIn([.socket(socket)], timeoutMillis: 1000)[0] else { continue }
                // REP: each request is answered before the next is read.
                while let request = try socket.receive(dontWait: true) {
                    try socket.send(reply(to: request), dontWait: false)
                }
            } catch let error as ZMQError where error.isContextTerminated {
                return  // the process is exiting (`ZMQContext.drain`)
            } catch {
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
    }

    /// Request: version "1.0", request id, domain, address, identity, mechanism, credentials
    /// (CURVE: the client's 32-byte public key). Reply: version, request id, status code,
    /// status text, user id, metadata.
    func reply(to request: [[UInt8]]) -> [[UInt8]] {
        let requestID = request.count > 1 ? request[1] : []
        func answer(_ code: String, _ text: String, user: String = "") -> [[UInt8]] {
            [Array("1.0".utf8), requestID, Array(code.utf8), Array(text.utf8), Array(user.utf8), []]
        }
        guard request.count >= 7, request[0] == Array("1.0".utf8) else { return answer("500", "malformed ZAP request") }
        let domain = String(decoding: request[2], as: UTF8.self), address = String(decoding: request[3], as: UTF8.self)
        let mechanism = String(decoding: request[5], as: UTF8.self), credentials = request[6]
        let expected = lock.withLock { domains[domain]?.clientKey }
        if mechanism == "CURVE", let expected, credentials == expected {
            return answer("200", "OK", user: Z85.encode(credentials))
        }
        logRefusal(domain: domain, address: address, mechanism: mechanism, credentials: credentials)
        return answer("400", "not this node's key")
    }

    private func logRefusal(domain: String, address: String, mechanism: String, credentials: [UInt8]) {
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        let admitted: (logger: Logger, notLogged: Int)? = lock.withLock {
            guard let notLogged = domains[domain]?.limit.admit(now: now), let logger = domains[domain]?.logger else { return nil }
            return (logger, notLogged)
        }
        // A domain nobody registered has no logger: nothing of this process serves it.
        guard let admitted else { return }
        var metadata: Logger.Metadata = ["remote_address": .string(address), "mechanism": .string(mechanism)]
        if mechanism == "CURVE", credentials.count == 32 { metadata["client_key"] = .string(Z85.encode(credentials)) }
        if admitted.notLogged > 0 { metadata["refusals_not_logged"] = .string("\(admitted.notLogged)") }
        admitted.logger.warning("refused a ZeroMQ client: its CURVE key is not this node's", metadata: metadata)
    }
}
