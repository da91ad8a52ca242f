import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The inbound side: a TLS listener that upgrades accepted request paths to WebSocket and
/// runs a handler per connection.
public final class PeerServer: Sendable {
    private let host: String
    private let port: Int
    private let reusePort: Bool
    private let tls: TLSConfiguration
    private let maxMessageBytes: Int
    private let pingInterval: TimeAmount
    private let logger: Logger

    /// How long a client has from TCP accept to a completed upgrade: a client that never
    /// finishes its handshake does not hold a connection, nor a shutdown.
    static let upgradeTimeout = TimeAmount.seconds(10)

    /// - Parameters:
    ///   - reusePort: set SO_REUSEPORT, so several replicator processes of one node share
    ///     the inbound port and the kernel spreads connections over them.
    ///   - tls: the server configuration; with mutual TLS, NIOSSL verifies the client's
    ///     chain during the handshake and the handler sees its names on the `PeerSocket`.
    ///   - maxMessageBytes: the largest message accepted from a client.
    ///   - pingInterval: ping each client this often; three intervals of silence end its connection.
    ///   - logger: refused TLS handshakes are logged here at warning.
    public init(host: String, port: Int, reusePort: Bool, tls: TLSConfiguration, maxMessageBytes: Int = 64 << 20,
                pingInterval: TimeAmount = .seconds(15), logger: Logger) {
        self.host = host
        self.port = port
        self.reusePort = reusePort
        self.tls = tls
        self.maxMessageBytes = maxMessageBytes
        self.pingInterval = pingInterval
        self.logger = logger
    }

    /// Binds (SO_REUSEADDR, and SO_REUSEPORT when reusePort), then serves until cancelled. `accept(path)` decides
    /// whether a request path is upgraded (false → HTTP 404 and close); `handler` runs once per upgraded connection
    /// in its own task; the connection is closed when the handler returns.
    ///
    /// Returns when cancelled, after every handler has returned (their connections are
    /// closed on cancellation, so a handler waiting in `receive()` ends). Throws when the
    /// address cannot be bound, or when accepting fails.
    public func run(accept: @escaping @Sendable (String) -> Bool,
                    onListening: @escaping @Sendable (Int) -> Void = { _ in },
                    handler: @escaping @Sendable (PeerSocket, String) async -> Void) async throws {
        let context = try NIOSSLContext(configuration: tls)
        var bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        if reusePort {
            bootstrap = bootstrap.serverChannelOption(ChannelOptions.Types.SocketOption(level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_REUSEPORT)), value: 1)
        }
        let pipeline = ServerPipeline(context: context, accept: accept, maxMessageBytes: maxMessageBytes, pingInterval: pingInterval, logger: logger)
        pipeline.warmUp()
        let listener = try await bootstrap.bind(host: host, port: port) { channel in
            channel.eventLoop.makeCompletedFuture { try pipeline.configure(channel) }
        }
        onListening(listener.channel.localAddress?.port ?? port)
        try await withThrowingDiscardingTaskGroup { group in
            do {
                try await listener.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask { await self.serve(connection, handler: handler) }
                    }
                }
            } catch is CancellationError {
                // The listener is closed; the group waits for the handlers, whose tasks are
                // cancelled too (which closes their connections).
            }
        }
    }

    /// One accepted connection: wait for TLS and the upgrade, run the handler, close.
    private func serve(_ connection: PendingConnection, handler: @escaping @Sendable (PeerSocket, String) async -> Void) async {
        let channel = connection.channel
        await withTaskCancellationHandler {
            let upgraded: UpgradedConnection
            do {
                guard case .upgraded(let connection) = try await connection.upgrade.get() else { return }
                upgraded = connection
            } catch {
                logger.debug("replication connection ended before the upgrade", metadata: [
                    "remote_address": .string(UpgradedConnection.describe(channel.remoteAddress)), "error": .string("\(error)"),
                ])
                return
            }
            try? await upgraded.frames.executeThenClose { inbound, outbound in
                let socket = PeerSocket(upgraded, inbound: inbound, outbound: outbound)
                await handler(socket, upgraded.path)
                await socket.close()
            }
        } onCancel: {
            channel.close(promise: nil)
        }
    }
}

/// A connection the listener accepted, its TLS handshake and upgrade still under way.
struct PendingConnection: Sendable {
    enum Upgrade: Sendable {
        case upgraded(UpgradedConnection)
        case notUpgraded
    }

    let channel: any Channel
    let upgrade: EventLoopFuture<Upgrade>
}

/// The pipeline of an accepted connection: TLS, the handshake logger, HTTP/1.1 with the
/// WebSocket upgrader (paths decided by `accept`), a 404 for the rest, and a deadline.
private struct ServerPipeline: Sendable {
    let context: NIOSSLContext
    let accept: @Sendable (String) -> Bool
    let maxMessageBytes: Int
    let pingInterval: TimeAmount
    let logger: Logger
    let refusals = HandshakeRefusalLogger.Limit()

    func configure(_ channel: any Channel) throws -> PendingConnection {
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(NIOSSLServerHandler(context: context))
        try pipeline.addHandler(HandshakeRefusalLogger(logger: logger, limit: refusals))
        let (accept, maxMessageBytes, pingInterval) = (self.accept, self.maxMessageBytes, self.pingInterval)
        let upgrader = NIOTypedWebSocketServerUpgrader<PendingConnection.Upgrade>(
            maxFrameSize: maxMessageBytes, enableAutomaticErrorHandling: false,
            shouldUpgrade: { channel, head in
                channel.eventLoop.makeSucceededFuture(accept(Self.path(of: head.uri)) ? HTTPHeaders() : nil)
            },
            upgradePipelineHandler: { channel, head in
                channel.eventLoop.makeCompletedFuture {
                    .upgraded(try UpgradedConnection(upgrading: channel, path: Self.path(of: head.uri), masked: false,
                                                     maxMessageBytes: maxMessageBytes, pingInterval: pingInterval))
                }
            })
        let upgrade = try pipeline.configureUpgradableHTTPServerPipeline(configuration: .init(upgradeConfiguration: .init(
            upgraders: [upgrader],
            notUpgradingCompletionHandler: { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NotFoundResponder())
                    return .notUpgraded
                }
            })))
        let deadline = channel.eventLoop.scheduleTask(in: PeerServer.upgradeTimeout) { channel.close(promise: nil) }
        upgrade.whenComplete { _ in deadline.cancel() }
        return PendingConnection(channel: channel, upgrade: upgrade)
    }

    /// Configures a throwaway in-memory channel once, on the calling thread, before any
    /// connection is accepted: the first connections on two event loops at the same instant
    /// both instantiated the pipeline's generic type metadata, and Swift's runtime crashed
    /// doing so concurrently (a replicator died with SIGSEGV in
    /// `configureUpgradableHTTPServerPipeline`, seen twice under load on 2026-11-30).
    func warmUp() {
        let channel = EmbeddedChannel()
        _ = try? configure(channel)
        _ = try? channel.finish()
    }

    /// The request target without its query.
    static func path(of uri: String) -> String {
        String(uri.prefix { $0 != "?" })
    }
}
