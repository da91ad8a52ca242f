import NIOSSL

/// A TLS error from NIOSSL read as what happened: which side would not accept which
/// certificate, with BoringSSL's reason in words ("tlsv1 alert unknown ca"). NIOSSL reports
/// these as nested enums over BoringSSL's error stack, whose text is all an operator needs
/// but is buried in codes and source paths.
struct TLSFailure: Sendable {
    enum Kind {
        /// The peer sent an alert: it did not accept our certificate (or our TLS offer).
        case refusedByPeer
        /// Our verification failed: the peer's certificate is not from our CA, expired, or
        /// does not carry the name we dialled.
        case rejectedHere
        /// A handshake that failed otherwise (no common protocol version or cipher).
        case handshake
        /// The connection ended in the middle of the handshake: nobody refused anything.
        case endOfFile
    }

    let kind: Kind
    let reason: String

    /// Nil for errors that are not TLS failures (and for TLS errors that are not about
    /// trust, such as an unclean shutdown after the handshake).
    init?(_ error: any Error) {
        switch error {
        case let extra as NIOSSLExtraError:
            kind = .rejectedHere
            reason = extra == .failedToValidateHostname ? "its certificate does not carry the name we dialled (\(extra))" : "\(extra)"
        case NIOSSLError.handshakeFailed(let boring):
            let reasons = Self.reasons(boring)
            guard !reasons.isEmpty else { return nil }
            kind = Self.kind(of: reasons) ?? (reasons == ["eof during handshake"] ? .endOfFile : .handshake)
            reason = reasons.joined(separator: "; ")
        case let boring as BoringSSLError:
            // After the handshake: with TLS 1.3 a client learns here that the server refused its certificate.
            let reasons = Self.reasons(boring)
            guard let kind = Self.kind(of: reasons) else { return nil }
            self.kind = kind
            reason = reasons.joined(separator: "; ")
        default:
            return nil
        }
    }

    /// Whether this is an identity failure on either side (the replicator counts and logs
    /// those as refused connections).
    var isRefusal: Bool { kind != .endOfFile }

    var error: PeerNetError {
        switch kind {
        case .refusedByPeer: .certificateRefusedByPeer(reason: reason)
        case .rejectedHere: .peerCertificateRejected(reason: reason)
        case .handshake: .handshakeFailed(reason: reason)
        case .endOfFile: .closedDuringUpgrade
        }
    }

    /// An alert came from the peer; a certificate problem without one was found here.
    private static func kind(of reasons: [String]) -> Kind? {
        if reasons.contains(where: { $0.contains("alert") }) { return .refusedByPeer }
        if reasons.contains(where: { $0.contains("certificate") || $0.contains("unknown ca") }) { return .rejectedHere }
        return nil
    }

    private static func reasons(_ error: BoringSSLError) -> [String] {
        switch error {
        case .sslError(let stack), .unknownError(let stack), .invalidSNIName(let stack), .failedToSetALPN(let stack):
            return stack.map { words(String(describing: $0)) }
        default:
            return []
        }
    }

    /// "Error: 268435581 error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED
    /// at /path/handshake.cc:393" → "certificate verify failed"; a synthetic entry ("EOF
    /// during handshake") is only lowercased.
    static func words(_ description: String) -> String {
        guard let start = description.firstRange(of: "error:") else { return description.lowercased() }
        var rest = description[start.upperBound...]
        if let end = rest.firstRange(of: " at ") { rest = rest[..<end.lowerBound] }
        let code = rest.split(separator: ":").last ?? rest
        return String(code.lowercased().map { $0 == "_" ? " " : $0 })
    }
}
