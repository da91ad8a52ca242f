import NIOCore
import NIOWebSocket

/// Dead-peer detection. A peer behind a partition or on a frozen host sends no FIN, so
/// TCP alone would keep the connection "up" for hours. This handler answers pings, sends
/// one every `interval` (so a live peer always has something to answer), and when three
/// ticks in a row have heard nothing at all it fails the reader with
/// `PeerNetError.peerSilent` and closes the connection.
///
/// It sits before the fragment aggregator, so every fragment of a long message counts as
/// a sign of life. Silence is counted in punctual ticks, not by the clock, so a stalled
/// event loop (whose reads are still waiting) is never taken for a silent peer; and not
/// while our own reader holds reads back (NIOAsyncChannel's back-pressure while the
/// application works through a message), since the peer's frames then wait unread in the
/// kernel.
///
/// Pings and pongs stop here; every other frame goes on.
final class KeepAliveHandler: ChannelDuplexHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    static let silentTicksAllowed = 3

    private let interval: TimeAmount
    /// Clients mask every frame they send (RFC 6455 §5.3); servers never do.
    private let masked: Bool
    private var heard = false
    private var silentTicks = 0
    private var readsHeldBack = false
    private var timer: Scheduled<Void>?
    private var tickDue = NIODeadline.now()

    init(interval: TimeAmount, masked: Bool) {
        self.interval = interval
        self.masked = masked
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { stop() }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        heard = true
        let frame = Self.unwrapInboundIn(data)
        switch frame.opcode {
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: masked ? .random() : nil, data: frame.unmaskedData)
            context.writeAndFlush(Self.wrapOutboundOut(pong), promise: nil)
        case .pong:
            break
        default:
            context.fireChannelRead(data)
        }
    }

    /// Until the next `read`, NIO reads nothing from the socket: the reader is busy.
    func channelReadComplete(context: ChannelHandlerContext) {
        readsHeldBack = true
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        readsHeldBack = false
        context.read()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard timer == nil else { return }
        schedule(context)
    }

    private func stop() {
        timer?.cancel()
        timer = nil
    }

    private func schedule(_ context: ChannelHandlerContext) {
        tickDue = .now() + interval
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: interval) { self.tick(context) }
    }

    private func tick(_ context: ChannelHandlerContext) {
        // A late tick means the event loop was busy: what the peer sent may be waiting
        // unread behind this tick, so it proves nothing either way.
        let late = NIODeadline.now() - tickDue > .nanoseconds(interval.nanoseconds / 2)
        if heard || readsHeldBack {
            silentTicks = 0
        } else if !late {
            silentTicks += 1
        }
        heard = false
        guard silentTicks < Self.silentTicksAllowed else {
            timer = nil
            let seconds = Double(interval.nanoseconds * Int64(silentTicks) / 1_000_000) / 1000
            context.fireErrorCaught(PeerNetError.peerSilent(seconds: seconds))
            context.close(promise: nil)
            return
        }
        let ping = WebSocketFrame(fin: true, opcode: .ping, maskKey: masked ? .random() : nil, data: context.channel.allocator.buffer(capacity: 0))
        context.writeAndFlush(Self.wrapOutboundOut(ping), promise: nil)
        schedule(context)
    }
}
