import Logging
import NIOCore
import NIOSSL
import NIOTLS

/// The server's record of TLS handshakes that failed: a client certificate not from our
/// CA, or a client that would not accept ours. NIO closes such connections before any
/// request, so nothing else would see them; the replicator's operators grep for
/// "refused replication connection". A connection that just ended mid-handshake (a port
/// probe) is noted at debug. Leaves the pipeline once the handshake completes.
final class HandshakeRefusalLogger: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let failure = TLSFailure(error) {
            let metadata: Logger.Metadata = [
                "reason": .string("\(failure.error)"),
                "remote_address": .string(UpgradedConnection.describe(context.channel.remoteAddress)),
            ]
            if failure.isRefusal {
                logger.warning("refused replication connection", metadata: metadata)
            } else {
                logger.debug("replication connection closed during the TLS handshake", metadata: metadata)
            }
        }
        context.fireErrorCaught(error)
    }
}
