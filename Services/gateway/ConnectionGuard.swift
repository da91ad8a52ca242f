import Foundation
import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Per-connection limits of the operations API, in the channel pipeline after HTTP
/// decoding: a cap on open connections (the connection over it gets one 503 and is
/// closed), a time limit for a request's headers (a slow client sending a byte a second is
/// cut off), for its body, for an idle keep-alive connection, and for a response the client
/// stopped reading (a long result streams only as fast as the client takes it).
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    struct Limits: Sendable {
        var maxConnections: Int
        var headersTimeout: TimeAmount
        var requestTimeout: TimeAmount
        var keepAliveTimeout: TimeAmount
    }

    /// Open connections, shared by every connection's guard.
    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var open = 0
        func acquire(max: Int) -> Bool { lock.withLock { open += 1; return open <= max } }
        func release() { lock.withLock { open -= 1 } }
    }

    private let limits: Limits
    private let counter: Counter
    private var admitted = false
    private var counted = false
    private var refusing = false
    private var timer: Scheduled<Void>?
    private var stalled: Scheduled<Void>?

    init(limits: Limits, counter: Counter) {
        self.limits = limits
        self.counter = counter
    }

    func handlerAdded(context: ChannelHandlerContext) {
        counted = true
        admitted = counter.acquire(max: limits.maxConnections)
        arm(context, limits.headersTimeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        stalled?.cancel()
        if counted { counter.release() }
        counted = false
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch part {
        case .head:
            if !admitted {
                refuse(context)
                return
            }
            arm(context, limits.requestTimeout)
        case .body:
            if refusing { return }
        case .end:
            if refusing { return }
            timer?.cancel()
        }
        context.fireChannelRead(data)
    }

    /// A client that takes nothing of a response for the request time limit is cut off.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        stalled?.cancel()
        stalled = nil
        if !context.channel.isWritable {
            let channel = context.channel
            stalled = context.eventLoop.scheduleTask(in: limits.requestTimeout) { channel.close(promise: nil) }
        }
        context.fireChannelWritabilityChanged()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            // The next request's headers (or the connection's close) are due within the keep-alive time.
            arm(context, limits.keepAliveTimeout)
        }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext, _ after: TimeAmount) {
        timer?.cancel()
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: after) { channel.close(promise: nil) }
    }

    private func refuse(_ context: ChannelHandlerContext) {
        refusing = true
        timer?.cancel()
        let body = ByteBuffer(string: #"{"error":"too many connections (operationsApi.network.maxConnections)"}"#)
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        fields[.contentLength] = String(body.readableBytes)
        fields[.connection] = "close"
        fields[.retryAfter] = "1"
        context.write(wrapOutboundOut(.head(HTTPResponse(status: .serviceUnavailable, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
