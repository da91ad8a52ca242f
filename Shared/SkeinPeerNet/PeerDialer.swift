import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket

/// The outbound side: TCP from a chosen source address, TLS, then the WebSocket upgrade.
public enum PeerDialer {
    /// TLS (the given client configuration, SNI = serverName) + WebSocket upgrade to `path`.
    ///
    /// - Parameters:
    ///   - sourceAddress: bind the local end to this IP (port 0) before connecting, so the
    ///     connection leaves from the node's own address (127.0.0.2) and a firewall rule
    ///     on that address partitions the node for real. Nil: the kernel chooses.
    ///   - serverName: the SNI name, and the name the server's certificate must carry
    ///     when `tls` asks for full verification.
    ///   - maxMessageBytes: the largest message accepted from the server.
    ///   - pingInterval: ping the server this often; three intervals of silence end the connection.
    ///   - connectTimeout: for TCP, TLS and the upgrade together: a dial never hangs.
    /// - Throws: `PeerNetError` for TLS refusals (see `isRefusal`), a refused upgrade and a
    ///   timeout; NIO's error when TCP cannot connect.
    public static func connect(host: String, port: Int, path: String, serverName: String,
                               sourceAddress: String?,
                               tls: TLSConfiguration, maxMessageBytes: Int = 64 << 20,
                               pingInterval: TimeAmount = .seconds(15), connectTimeout: TimeAmount = .seconds(10)) async throws -> PeerSocket {
        _ = Self.warmUp
        let context = try NIOSSLContext(configuration: tls)
        var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connectTimeout(connectTimeout)
        if let sourceAddress {
            guard let local = try? SocketAddress(ipAddress: sourceAddress, port: 0) else { throw PeerNetError.invalidSourceAddress(sourceAddress) }
            bootstrap = bootstrap.bind(to: local)
        }
        let observation = DialObservation()
        let result: DialResult
        do {
            let upgrade = try await bootstrap.connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let request = Request(port: port, path: path, serverName: serverName, maxMessageBytes: maxMessageBytes, pingInterval: pingInterval)
                    let result = channel.eventLoop.makePromise(of: DialResult.self)
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverName))
                    try pipeline.addHandler(HandshakeGate(
                        result: result, expectedName: tls.certificateVerification == .fullVerification ? serverName : nil,
                        observation: observation, startUpgrade: { try request.configure($0, observation: observation) }))
                    let deadline = channel.eventLoop.scheduleTask(in: connectTimeout) {
                        observation.timeOut()
                        channel.close(promise: nil)
                    }
                    result.futureResult.whenComplete { outcome in
                        deadline.cancel()
                        if case .failure = outcome { channel.close(promise: nil) }
                    }
                    return result.futureResult
                }
            }
            result = try await upgrade.get()
        } catch {
            throw observation.explain(error, seconds: Double(connectTimeout.nanoseconds) / 1e9)
        }
        switch result {
        case .upgraded(let connection):
            return await PeerSocket.adopting(connection)
        case .notUpgraded(let channel):
            try? await channel.close()
            throw PeerNetError.upgradeRefused(status: observation.status ?? 0, path: path)
        }
    }

    /// The client pipeline configured once on a throwaway in-memory channel, on the first
    /// caller's thread, before any dial: as on the server side (`ServerPipeline.warmUp`),
    /// Swift's runtime crashed when two event loops instantiated the pipeline's generic
    /// metadata at the same instant.
    private static let warmUp: Void = {
        let channel = EmbeddedChannel()
        let request = Request(port: 1, path: "/", serverName: "warm-up", maxMessageBytes: 1 << 16, pingInterval: .seconds(15))
        _ = try? request.configure(channel, observation: DialObservation())
        _ = try? channel.finish()
    }()

    enum DialResult: Sendable {
        case upgraded(UpgradedConnection)
        case notUpgraded(any Channel)
    }

    /// The HTTP upgrade request and the pipeline that sends it and reads the answer.
    private struct Request {
        let port: Int
        let path: String
        let serverName: String
        let maxMessageBytes: Int
        let pingInterval: TimeAmount

        func configure(_ channel: any Channel, observation: DialObservation) throws -> EventLoopFuture<DialResult> {
            var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
            head.headers.add(name: "Host", value: "\(serverName):\(port)")
            head.headers.add(name: "Content-Length", value: "0")
            let (path, maxMessageBytes, pingInterval) = (self.path, self.maxMessageBytes, self.pingInterval)
            let upgrader = NIOTypedWebSocketClientUpgrader<DialResult>(maxFrameSize: maxMessageBytes, enableAutomaticErrorHandling: false) { channel, _ in
                channel.eventLoop.makeCompletedFuture {
                    .upgraded(try UpgradedConnection(upgrading: channel, path: path, masked: true, maxMessageBytes: maxMessageBytes, pingInterval: pingInterval))
                }
            }
            var configuration = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: .init(
                upgradeRequestHead: head, upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in channel.eventLoop.makeSucceededFuture(.notUpgraded(channel)) }))
            // The server may send its first message right behind the 101: keep those bytes.
            configuration.leftOverBytesStrategy = .forwardBytes
            let pipeline = channel.pipeline.syncOperations
            let upgrade = try pipeline.configureUpgradableHTTPClientPipeline(configuration: configuration)
            let upgradeHandler = try pipeline.handler(type: NIOTypedHTTPClientUpgradeHandler<DialResult>.self)
            try pipeline.addHandler(DialObserver(observation), position: .before(upgradeHandler))
            return upgrade
        }
    }
}

extension PeerSocket {
    /// A dialled connection outlives the call that made it, so NIO's scoped
    /// `executeThenClose` runs in a task of its own until the connection closes (then it
    /// finishes the writer); the socket gets the inbound and outbound it hands out.
    fileprivate static func adopting(_ connection: UpgradedConnection) async -> PeerSocket {
        await withCheckedContinuation { continuation in
            Task {
                try? await connection.frames.executeThenClose { inbound, outbound in
                    continuation.resume(returning: PeerSocket(connection, inbound: inbound, outbound: outbound))
                    try await connection.frames.channel.closeFuture.get()
                }
            }
        }
    }
}
