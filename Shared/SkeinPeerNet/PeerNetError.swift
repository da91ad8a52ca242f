/// Why a replication connection could not be made or did not last, in words an operator
/// can act on: the replicator logs `"\(error)"` as is.
public enum PeerNetError: Error, CustomStringConvertible {
    /// The peer's TLS stack sent an alert: it does not accept our certificate (another CA,
    /// expired, revoked). With TLS 1.3 a client learns this only after its own handshake,
    /// when reading the upgrade response.
    case certificateRefusedByPeer(reason: String)
    /// The peer's certificate failed our verification: not from our CA, expired, or not
    /// carrying the name we dialled.
    case peerCertificateRejected(reason: String)
    /// The TLS handshake failed otherwise (no common protocol version or cipher).
    case handshakeFailed(reason: String)
    /// The server answered the upgrade request with this HTTP status, not 101 (a path it
    /// does not serve is 404).
    case upgradeRefused(status: Int, path: String)
    /// TCP, TLS and the WebSocket upgrade together took longer than the connect timeout.
    case upgradeTimedOut(seconds: Double)
    /// The connection closed before the upgrade response (or during the TLS handshake) with
    /// no TLS alert to explain it: the peer went away, it did not refuse anything.
    case closedDuringUpgrade
    /// Nothing at all (not even a pong) arrived for three ping intervals: the peer vanished
    /// without closing (a partition, a frozen host), so the connection was closed.
    case peerSilent(seconds: Double)
    /// A message larger than the receiver's limit: the connection was closed (1009).
    case messageTooLarge(limit: Int)
    /// The peer broke the WebSocket protocol (bad framing, a binary message where
    /// replication messages are text).
    case protocolViolation(String)
    /// The peer closed the connection with a status other than a normal closure; 1008
    /// (policy violation) is how a replicator refuses a peer's stated identity.
    case closedByPeer(code: Int, reason: String)
    /// `sourceAddress` is not an IP address.
    case invalidSourceAddress(String)
    /// `receive()` was called while another `receive()` on the same connection was waiting:
    /// messages have one reader.
    case concurrentReceive

    public var description: String {
        switch self {
        case .certificateRefusedByPeer(let reason): "the peer refused our certificate: \(reason)"
        case .peerCertificateRejected(let reason): "the peer's certificate was rejected: \(reason)"
        case .handshakeFailed(let reason): "the TLS handshake failed: \(reason)"
        case .upgradeRefused(let status, let path): "the peer refused the WebSocket upgrade of \(path): HTTP \(status)"
        case .upgradeTimedOut(let seconds): "no WebSocket connection within \(seconds) s (TCP, TLS handshake or upgrade stalled)"
        case .closedDuringUpgrade: "the peer closed the connection before answering the upgrade request"
        case .peerSilent(let seconds): "nothing received from the peer for \(seconds) s: connection presumed dead and closed"
        case .messageTooLarge(let limit): "a message exceeded the limit of \(limit) bytes: connection closed"
        case .protocolViolation(let what): "WebSocket protocol violation: \(what)"
        case .closedByPeer(let code, let reason):
            "the peer closed the connection: \(Self.closeCodeName(code)) (\(code))\(reason.isEmpty ? "" : ": \(reason)")"
        case .invalidSourceAddress(let address): "source address \"\(address)\" is not an IP address"
        case .concurrentReceive: "receive() called while another receive() on the same connection was waiting"
        }
    }

    static func closeCodeName(_ code: Int) -> String {
        switch code {
        case 1000: "normal closure"
        case 1001: "going away"
        case 1002: "protocol error"
        case 1003: "unacceptable data"
        case 1007: "invalid data"
        case 1008: "policy violation"
        case 1009: "message too large"
        case 1011: "unexpected server error"
        default: "status"
        }
    }
}

extension PeerNetError {
    /// Identity failures, on either side: a TLS handshake or alert about a certificate
    /// (ours not trusted there, theirs not trusted or misnamed here) or a close with 1008
    /// (the peer refused the node name we stated). The replicator counts these as
    /// `refused_connections` and logs them at warning; other failures are retried quietly.
    /// Raw NIOSSL errors are recognised too, for callers that meet them outside this library.
    public static func isRefusal(_ error: any Error) -> Bool {
        switch error as? PeerNetError {
        case .certificateRefusedByPeer?, .peerCertificateRejected?, .handshakeFailed?:
            return true
        case .closedByPeer(let code, _)?:
            return code == 1008
        case .some:
            return false
        case nil:
            return TLSFailure(error)?.isRefusal ?? false
        }
    }

    /// The library's reading of an error from NIO: TLS failures become the cases above,
    /// anything else is returned as it is.
    static func reading(_ error: any Error) -> any Error {
        if error is PeerNetError { return error }
        return TLSFailure(error)?.error ?? error
    }
}
