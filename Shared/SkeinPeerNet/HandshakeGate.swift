import NIOCore
import NIOSSL
import NIOTLS

/// The dialler's gate between TLS and HTTP: the upgrade request goes out only once the
/// handshake is complete and the server's certificate names the node dialled, so a
/// misnamed server never sees a request (nor runs a handler). Until then a TLS error or a
/// close is the dial's failure; once open, the gate starts the HTTP upgrade and leaves.
final class HandshakeGate: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let result: EventLoopPromise<PeerDialer.DialResult>
    /// The name the server's certificate must carry; nil when the TLS configuration does
    /// not verify names.
    private let expectedName: String?
    private let observation: DialObservation
    private let startUpgrade: (any Channel) throws -> EventLoopFuture<PeerDialer.DialResult>
    private var open = false

    init(result: EventLoopPromise<PeerDialer.DialResult>, expectedName: String?, observation: DialObservation,
         startUpgrade: @escaping (any Channel) throws -> EventLoopFuture<PeerDialer.DialResult>) {
        self.result = result
        self.expectedName = expectedName
        self.observation = observation
        self.startUpgrade = startUpgrade
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        context.fireUserInboundEventTriggered(event)
        guard case TLSUserEvent.handshakeCompleted = event, !open else { return }
        do {
            if let expectedName { try Self.check(expectedName, context) }
            open = true
            try startUpgrade(context.channel).cascade(to: result)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        } catch {
            fail(context, error)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        observation.record(error)
        fail(context, error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(context, PeerNetError.closedDuringUpgrade)
        context.fireChannelInactive()
    }

    private func fail(_ context: ChannelHandlerContext, _ error: any Error) {
        guard !open else { return }
        open = true
        result.fail(error)
        context.close(promise: nil)
    }

    /// NIOSSL's full verification also accepts a certificate whose IP SAN matches the
    /// address dialled, whatever its names: every node on one host (127.0.0.x in tests,
    /// one address behind NAT) would pass for every other. A route names a node, so the
    /// node's certificate must carry that name.
    private static func check(_ expectedName: String, _ context: ChannelHandlerContext) throws {
        let certificate = try? context.pipeline.syncOperations.nioSSL_peerCertificate()
        let names = certificate.flatMap { $0 }.map(CertificateNames.names(of:)) ?? []
        guard names.contains(expectedName) else {
            throw PeerNetError.peerCertificateRejected(
                reason: "its certificate names (\(names.sorted().joined(separator: ", "))) do not include \"\(expectedName)\"")
        }
    }
}
