import Foundation
import Logging
import NIOCore
import SkeinCore
import NIOSSL
import NIOTLS

/// The server's record of TLS handshakes that failed: a client certificate not from our
/// CA, or a client that would not accept ours. NIO closes such connections before any
/// request, so nothing else would see them; the replicator's operators grep for
/// "refused replication connection". A connection that just ended mid-handshake (a port
/// probe) is noted at debug. Leaves the pipeline once the handshake completes. The
/// warnings are rate-limited per server (`LogRateLimit`: a flood of bad certificates must
/// not fill the disk); a line written after some were not says how many
/// (`refusals_not_logged`).
final class HandshakeRefusalLogger: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    /// The limit every connection of one server shares.
    final class Limit: @unchecked Sendable {
        private let lock = NSLock()
        private var limit: LogRateLimit
        init(_ limit: LogRateLimit = LogRateLimit()) { self.limit = limit }
        func admit() -> Int? {
            let now = UInt64(Date().timeIntervalSince1970 * 1000)
            return lock.withLock { limit.admit(now: now) }
        }
    }

    private let logger: Logger
    private let limit: Limit

    init(logger: Logger, limit: Limit) {
        self.logger = logger
        self.limit = limit
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let failure = TLSFailure(error) {
            var metadata: Logger.Metadata = [
                "reason": .string("\(failure.error)"),
                "remote_address": .string(UpgradedConnection.describe(context.channel.remoteAddress)),
            ]
            if failure.isRefusal {
                if let notLogged = limit.admit() {
                    if notLogged > 0 { metadata["refusals_not_logged"] = .string("\(notLogged)") }
                    logger.warning("refused replication connection", metadata: metadata)
                }
            } else {
                logger.debug("replication connection closed during the TLS handshake", metadata: metadata)
            }
        }
        context.fireErrorCaught(error)
    }
}
