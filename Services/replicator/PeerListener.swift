import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOSSL
import SkeinCore
import SkeinService

/// The inbound side: `wss://replication.host:replication.securePort/replicate/DATABASE`,
/// TLS 1.3 with a client certificate chained to our CA (checked by NIOSSL during the
/// handshake). Each upgraded connection is served by a `PublisherConnection`, which gets
/// the peer certificate's names read here from the connection's TLS handler.
struct PeerListener {
    let config: NodeConfig
    let tls: PeerTLS
    let store: RPCClient
    let auditd: RPCClient
    let status: ReplicationStatus
    let directory: PeerDirectory
    let logger: Logger

    static let pathPrefix = "/replicate/"

    /// The database a request path names, if it is one we replicate.
    static func database(path: String, replicated: [String]) -> String? {
        guard path.hasPrefix(pathPrefix) else { return nil }
        let name = String(path.dropFirst(pathPrefix.count)).removingPercentEncoding ?? ""
        return replicated.contains(name) ? name : nil
    }

    func makeApplication() throws -> some ApplicationProtocol {
        let config = self.config, store = self.store, auditd = self.auditd, status = self.status, logger = self.logger, directory = self.directory
        let server = HTTPServerBuilder.http1WebSocketUpgrade(configuration: .init(ws: .init(autoPing: .enabled(timePeriod: .seconds(15))))) { request, channel, _ in
            guard let database = Self.database(path: request.path ?? "", replicated: config.replicatedDatabases) else {
                logger.info("refused replication request for an unknown path", metadata: ["path": .string(request.path ?? "")])
                return .dontUpgrade
            }
            let certificate = try await channel.nioSSL_peerCertificate().get()
            let names = certificate.map(PeerTLS.names(of:)) ?? []
            let serial = certificate.flatMap(PeerTLS.serial(of:))
            let connection = PublisherConnection(config: config, database: database, certificateNames: names, certificateSerial: serial,
                                                 directory: directory, store: store, auditd: auditd, status: status, logger: logger)
            return .upgrade([:]) { inbound, outbound, _ in
                await connection.run(inbound: inbound, outbound: outbound)
            }
        }
        var hummingbirdLogger = logger
        // Quiet: a refused TLS handshake surfaces here as an "upgrade" error, not ours to report.
        hummingbirdLogger.logLevel = .critical
        return Application(
            router: Router(),
            server: try .tls(server, tlsConfiguration: tls.server),
            configuration: .init(address: .hostname(config.replicationHost, port: config.replicationPort), serverName: "skein-replicator"),
            onServerRunning: { _ in
                logger.info("replication listening", metadata: ["url": .string("wss://\(config.replicationHost):\(config.replicationPort)")])
            },
            logger: hummingbirdLogger
        )
    }
}
