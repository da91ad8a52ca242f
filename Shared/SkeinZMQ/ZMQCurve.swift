import CZMQ

/// ZeroMQ's CURVE security (RFC 26): an encrypted, authenticated handshake and traffic. A
/// server needs its secret key; a client its own keypair and the server's public key. Keys
/// are the 32 raw bytes. Set before `bind`/`connect`.
public enum ZMQCurve {
    /// Whether this libzmq was built with CURVE (libsodium or its own tweetnacl).
    public static var isAvailable: Bool { zmq_has("curve") == 1 }

    /// A new keypair, as 40-character Z85 texts.
    public static func keypair() throws(ZMQError) -> (publicKey: String, secretKey: String) {
        var publicKey = [CChar](repeating: 0, count: 41), secretKey = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&publicKey, &secretKey) == 0 else { throw ZMQError.last("curve_keypair") }
        return (text(publicKey), text(secretKey))
    }

    /// The public key (Z85) that belongs to a secret key (Z85).
    public static func publicKey(forSecretKey secretKey: String) throws(ZMQError) -> String {
        var publicKey = [CChar](repeating: 0, count: 41)
        guard zmq_curve_public(&publicKey, secretKey) == 0 else { throw ZMQError.last("curve_public") }
        return text(publicKey)
    }

    private static func text(_ chars: [CChar]) -> String {
        String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension ZMQSocket {
    /// Makes this socket a CURVE server. Clients are then checked by the ZAP handler bound in
    /// the same context, which is asked with `zapDomain`; with no handler bound, ZeroMQ admits
    /// any client that knows the public key, so bind the handler first.
    public func makeCurveServer(secretKey: [UInt8], zapDomain: String) throws(ZMQError) {
        try setOption(ZMQ_CURVE_SERVER, 1)
        try setOption(ZMQ_CURVE_SECRETKEY, bytes: secretKey)
        try setOption(ZMQ_ZAP_DOMAIN, bytes: Array(zapDomain.utf8))
    }

    /// Makes this socket a CURVE client with its keypair, trusting the server with `serverKey`.
    public func makeCurveClient(serverKey: [UInt8], publicKey: [UInt8], secretKey: [UInt8]) throws(ZMQError) {
        try setOption(ZMQ_CURVE_SERVERKEY, bytes: serverKey)
        try setOption(ZMQ_CURVE_PUBLICKEY, bytes: publicKey)
        try setOption(ZMQ_CURVE_SECRETKEY, bytes: secretKey)
    }
}
