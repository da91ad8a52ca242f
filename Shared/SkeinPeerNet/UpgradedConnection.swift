import NIOCore
import NIOSSL
import NIOWebSocket

/// A connection just upgraded to WebSocket, on either side, before it becomes a
/// `PeerSocket`: whole messages as a NIOAsyncChannel, and what is known of the peer.
struct UpgradedConnection: Sendable {
    let frames: NIOAsyncChannel<WebSocketFrame, WebSocketFrame>
    let certificateNames: Set<String>
    let certificateSerial: String?
    let remoteAddress: String
    let localAddress: String
    /// The request path (the server's side); the dialled path on the client's.
    let path: String
    /// Whether we are the client, which masks what it sends.
    let masked: Bool

    /// Completes the pipeline NIO's upgrader left (frame encoder and decoder, the decoder
    /// already limited to `maxMessageBytes` per frame): pings, fragments reassembled into
    /// whole messages of at most `maxMessageBytes`, the closing handshake, then the async
    /// view with room for one message, so a slow reader stops NIO reading rather than
    /// letting messages pile up in memory. Runs on the channel's event loop, after the TLS
    /// handshake, so the peer's certificate is known.
    init(upgrading channel: any Channel, path: String, masked: Bool, maxMessageBytes: Int, pingInterval: TimeAmount) throws {
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(KeepAliveHandler(interval: pingInterval, masked: masked))
        try pipeline.addHandler(NIOWebSocketFrameAggregator(
            minNonFinalFragmentSize: Self.minFragmentBytes,
            maxAccumulatedFrameCount: max(16, maxMessageBytes / Self.minFragmentBytes + 1),
            maxAccumulatedFrameSize: maxMessageBytes))
        try pipeline.addHandler(CloseHandshakeHandler(masked: masked, maxMessageBytes: maxMessageBytes))
        frames = try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(
            backPressureStrategy: .init(lowWatermark: 1, highWatermark: 1)))
        let certificate = try? pipeline.nioSSL_peerCertificate()
        certificateNames = certificate.map(CertificateNames.names(of:)) ?? []
        certificateSerial = certificate.flatMap(CertificateNames.serial(of:))
        remoteAddress = Self.describe(channel.remoteAddress)
        localAddress = Self.describe(channel.localAddress)
        self.path = path
        self.masked = masked
    }

    /// Fragments smaller than this (but the last) are refused: a peer could otherwise make
    /// us hold a message as millions of tiny frames. Ours are `PeerSocket.fragmentBytes`.
    static let minFragmentBytes = 1024

    /// "127.0.0.2:54321", "[::1]:9933".
    static func describe(_ address: SocketAddress?) -> String {
        guard let address, let ip = address.ipAddress else { return address.map { "\($0)" } ?? "?" }
        let host = ip.contains(":") ? "[\(ip)]" : ip
        return address.port.map { "\(host):\($0)" } ?? host
    }
}
