import Foundation
import Logging
import NIOSSL
import SkeinCore
import SkeinPeerNet
import SkeinService

/// The inbound side: `wss://replication.host:replication.securePort/replicate/DATABASE`,
/// TLS 1.3 with a client certificate chained to our CA (checked by NIOSSL during the
/// handshake). The port is bound with SO_REUSEPORT, so every replicator of a node (one per
/// region) listens on it and the kernel spreads inbound connections among them. Each
/// upgraded connection is served by a `PublisherConnection`, with the peer certificate's
/// names and serial read from the TLS handler.
struct PeerListener {
    let config: NodeConfig
    let tls: PeerTLS
    let store: RPCClient
    let auditd: RPCClient
    let recent: RecentLogs?
    let status: ReplicationStatus
    let pruner: TombstonePruner
    let directory: PeerDirectory
    let logger: Logger

    static let pathPrefix = "/replicate/"

    /// The database a request path names, if it is one we replicate.
    static func database(path: String, serves: (String) -> Bool) -> String? {
        guard path.hasPrefix(pathPrefix) else { return nil }
        let name = String(path.dropFirst(pathPrefix.count)).removingPercentEncoding ?? ""
        return serves(name) ? name : nil
    }

    /// Serves until cancelled; throws when the port cannot be bound.
    func run() async throws {
        let config = self.config, store = self.store, auditd = self.auditd, recent = self.recent, status = self.status, logger = self.logger, directory = self.directory
        let recordCounts = LocalRecordCounts(store: store)
        let server = PeerServer(host: config.replicationHost, port: config.replicationPort, reusePort: true, tls: tls.server,
                                maxMessageBytes: FrameIO.maxMessageBytes, logger: logger)
        try await server.run(
            accept: { path in
                guard Self.database(path: path, serves: directory.serves) != nil else {
                    logger.info("refused replication request for an unknown path", metadata: ["path": .string(path)])
                    return false
                }
                return true
            },
            onListening: { port in
                logger.info("replication listening", metadata: ["url": .string("wss://\(config.replicationHost):\(port)")])
            },
            handler: { socket, path in
                guard let database = Self.database(path: path, serves: directory.serves) else { return }
                let connection = PublisherConnection(config: config, database: database, certificateNames: socket.certificateNames,
                                                     certificateSerial: socket.certificateSerial, directory: directory,
                                                     remoteAddress: socket.remoteAddress,
                                                     store: store, auditd: auditd, recent: recent, status: status, pruner: pruner,
                                                     recordCounts: recordCounts, logger: logger)
                await connection.run(socket: socket)
            })
    }
}
