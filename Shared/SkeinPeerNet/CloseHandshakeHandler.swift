import NIOCore
import NIOWebSocket

/// The WebSocket closing handshake (RFC 6455 §7) and what ends a connection for a broken
/// protocol. A peer's close frame goes on to the reader (which turns its status into nil or
/// an error) and is answered with one echoing its status, then TCP is closed; our own close
/// frame goes out once, and nothing after it. A frame or message over the size limit, or bad
/// framing, from NIO's decoder or `NIOWebSocketFrameAggregator`, is answered with a close
/// (1009 or 1002) and reaches the reader as a `PeerNetError` instead of NIO's error.
final class CloseHandshakeHandler: ChannelDuplexHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    /// Clients mask every frame they send (RFC 6455 §5.3); servers never do.
    private let masked: Bool
    private let maxMessageBytes: Int
    private var closeSent = false
    private var closeReceived = false

    init(masked: Bool, maxMessageBytes: Int) {
        self.masked = masked
        self.maxMessageBytes = maxMessageBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Nothing is valid after a close.
        guard !closeReceived else { return }
        let frame = Self.unwrapInboundIn(data)
        guard frame.opcode == .connectionClose else { return context.fireChannelRead(data) }
        closeReceived = true
        context.fireChannelRead(data)
        if closeSent {
            context.close(promise: nil)
        } else {
            var payload = frame.unmaskedData
            let status = payload.readInteger(as: UInt16.self)
            closeSent = true
            sendCloseThenClose(context, status: status)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let frame = Self.unwrapOutboundIn(data)
        if frame.opcode == .connectionClose {
            // Once is enough: the reply to the peer's close, or an earlier close of ours.
            guard !closeSent else {
                promise?.succeed(())
                return
            }
            closeSent = true
        } else if closeSent {
            promise?.fail(ChannelError.outputClosed)
            return
        }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let (status, failure) = protocolFailure(error) else { return context.fireErrorCaught(error) }
        context.fireErrorCaught(failure)
        if closeSent {
            context.close(promise: nil)
        } else {
            closeSent = true
            sendCloseThenClose(context, status: status)
        }
    }

    private func sendCloseThenClose(_ context: ChannelHandlerContext, status: UInt16?) {
        var payload = context.channel.allocator.buffer(capacity: 2)
        if let status { payload.writeInteger(status) }
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: masked ? .random() : nil, data: payload)
        context.writeAndFlush(Self.wrapOutboundOut(frame)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    /// The close status for an error of NIO's WebSocket layer, and what the reader is told.
    private func protocolFailure(_ error: any Error) -> (UInt16, PeerNetError)? {
        switch error {
        case NIOWebSocketError.invalidFrameLength,
            NIOWebSocketFrameAggregator.Error.accumulatedFrameSizeIsTooLarge,
            NIOWebSocketFrameAggregator.Error.tooManyFragments:
            return (1009, .messageTooLarge(limit: maxMessageBytes))
        case is NIOWebSocketError, is NIOWebSocketFrameAggregator.Error:
            return (1002, .protocolViolation("\(error)"))
        default:
            return nil
        }
    }
}
