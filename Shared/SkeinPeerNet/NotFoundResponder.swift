import NIOCore
import NIOHTTP1

/// Answers a request the server would not upgrade (a path `accept` refused, or no
/// WebSocket upgrade at all) with 404 and closes the connection, so the dialler gets a
/// status to report instead of waiting for its timeout. NIO's upgrade handler has already
/// consumed the request head when it adds this handler, so the answer goes out at once;
/// the rest of the request is dropped.
final class NotFoundResponder: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    func handlerAdded(context: ChannelHandlerContext) {
        let headers = HTTPHeaders([("Content-Length", "0"), ("Connection", "close")])
        context.write(Self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .notFound, headers: headers))), promise: nil)
        context.writeAndFlush(Self.wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}
