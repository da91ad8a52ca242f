import Logging
import SkeinCore
import SkeinZMQ

/// How a service socket is bound or connected: as it is on `ipc://` (the run directory is
/// private to the service user), with CURVE and the node's keypair on `tcp://`
/// (docs/INTERFACES.md §5). A network endpoint without keys is refused here too, so no
/// socket ever listens on the network unauthenticated, whatever built its configuration.
enum ServiceSocketSecurity {
    /// Binds a server socket (ROUTER, PUB); its clients must hold the node's keypair.
    static func bind(_ socket: ZMQSocket, _ endpoint: String, keys: CurveKeys?, logger: Logger) throws {
        if CurveKeys.isNetworkEndpoint(endpoint) {
            guard let keys else { throw CurveKeys.missing(endpoint: endpoint) }
            let domain = "skein:" + keys.publicKeyText
            try ZAPHandler.shared.admit(clientKey: keys.publicKey, domain: domain, logger: logger)
            try socket.makeCurveServer(secretKey: keys.secretKey, zapDomain: domain)
        }
        try socket.bind(endpoint)
    }

    /// Connects a client socket (DEALER, SUB) to a server of the same node.
    static func connect(_ socket: ZMQSocket, _ endpoint: String, keys: CurveKeys?) throws {
        if CurveKeys.isNetworkEndpoint(endpoint) {
            guard let keys else { throw CurveKeys.missing(endpoint: endpoint) }
            try socket.makeCurveClient(serverKey: keys.publicKey, publicKey: keys.publicKey, secretKey: keys.secretKey)
        }
        try socket.connect(endpoint)
    }
}
