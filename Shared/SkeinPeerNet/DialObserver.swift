import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// What the dialler needs to explain a failed upgrade, which NIO's upgrade future alone
/// does not say: the HTTP status of a refusal (its not-upgraded callback gets no response),
/// a TLS error that may have been followed by a plainer one (a TLS 1.3 client learns that its
/// certificate was refused from an alert while reading, then sees the connection close), and
/// whether our own deadline closed the connection.
final class DialObservation: Sendable {
    private struct Seen {
        var status: Int?
        var tlsFailure: TLSFailure?
        var timedOut = false
    }

    private let seen = NIOLockedValueBox(Seen())

    var status: Int? { seen.withLockedValue { $0.status } }

    func timeOut() { seen.withLockedValue { $0.timedOut = true } }

    /// The dial's failure as the caller should see it.
    func explain(_ error: any Error, seconds: Double) -> any Error {
        let (timedOut, tlsFailure) = seen.withLockedValue { ($0.timedOut, $0.tlsFailure) }
        if timedOut { return PeerNetError.upgradeTimedOut(seconds: seconds) }
        if let failure = tlsFailure ?? TLSFailure(error) { return failure.error }
        if case ChannelError.inappropriateOperationForState = error { return PeerNetError.closedDuringUpgrade }
        return error
    }

    fileprivate func record(status: Int) { seen.withLockedValue { $0.status = status } }

    func record(_ error: any Error) {
        guard let failure = TLSFailure(error) else { return }
        seen.withLockedValue { if $0.tlsFailure == nil { $0.tlsFailure = failure } }
    }
}

/// Sits between the HTTP response decoder and NIO's upgrade handler until the response
/// head has passed, writing what it sees into a `DialObservation`; then it leaves, before
/// WebSocket bytes flow.
final class DialObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias InboundOut = HTTPClientResponsePart

    private let observation: DialObservation

    init(_ observation: DialObservation) {
        self.observation = observation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = Self.unwrapInboundIn(data) {
            observation.record(status: Int(head.status.code))
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        } else {
            context.fireChannelRead(data)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        observation.record(error)
        context.fireErrorCaught(error)
    }
}
