import NIOCore
import NIOPosix

/// A TCP relay on 127.0.0.1 between a dialler and a server that can be frozen: it then
/// drops every byte both ways and keeps both connections open, as a network partition
/// does (no FIN, no RST), which only the transport's pings can notice.
struct PeerNetRelay {
    let port: Int
    private let frozen: Locked<Bool>
    private let listener: any Channel

    static func start(forwardingTo target: Int) async throws -> PeerNetRelay {
        let frozen = Locked(false)
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            // The accepted channel is registered (and read) only once this initializer's
            // future completes: after the far side is connected.
            .childChannelInitializer { inbound in
                ClientBootstrap(group: inbound.eventLoop)
                    .channelInitializer { outbound in
                        outbound.eventLoop.makeCompletedFuture {
                            try outbound.pipeline.syncOperations.addHandler(Forwarder(to: inbound, frozen: frozen))
                        }
                    }
                    .connect(host: "127.0.0.1", port: target)
                    .flatMapThrowing { outbound in
                        try inbound.pipeline.syncOperations.addHandler(Forwarder(to: outbound, frozen: frozen))
                    }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return PeerNetRelay(port: listener.localAddress?.port ?? 0, frozen: frozen, listener: listener)
    }

    func freeze() { frozen.update { $0 = true } }

    func stop() async { try? await listener.close() }

    /// One direction: what arrives on this channel is written to the other, unless frozen.
    private final class Forwarder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer

        private let partner: any Channel
        private let frozen: Locked<Bool>

        init(to partner: any Channel, frozen: Locked<Bool>) {
            self.partner = partner
            self.frozen = frozen
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard !frozen.get() else { return }
            partner.writeAndFlush(Self.unwrapInboundIn(data), promise: nil)
        }

        /// A close goes through too, unless frozen: a partition carries no FIN.
        func channelInactive(context: ChannelHandlerContext) {
            if !frozen.get() { partner.close(promise: nil) }
            context.fireChannelInactive()
        }
    }
}
