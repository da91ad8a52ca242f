import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
import NIOWebSocket

/// One established replication connection (either side): whole JSON text messages in and
/// out, over TLS with the peer's certificate already verified.
///
/// One task reads (`receive`); any number may `send`, each message going out whole, never
/// interleaved with another. Dropping the last reference closes the connection.
public final class PeerSocket: Sendable {
    /// Subject CN and DNS SANs of the peer's certificate (its chain verified by TLS); empty
    /// if it presented none.
    public let certificateNames: Set<String>
    /// The peer's leaf certificate serial, lowercase hex without leading zeros or colons.
    public let certificateSerial: String?
    /// "127.0.0.2:54321"
    public let remoteAddress: String
    public let localAddress: String

    private let channel: any Channel
    private let outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>
    private let masked: Bool
    private let reader: NIOLockedValueBox<Reader>

    private struct Reader: Sendable {
        /// Nil while a `receive()` holds it, or once the connection ended.
        var messages: Messages?
        var ended = false
        /// We sent a close: the status the peer echoes back is no news.
        var closing = false
    }

    /// NIO's iterator must never be used by two tasks at once, so it is not Sendable. Here
    /// it is handed from one `receive()` to the next under the reader's lock and held by
    /// one of them at a time (a second concurrent `receive()` is refused), which is what
    /// that rule protects.
    private struct Messages: @unchecked Sendable {
        var iterator: NIOAsyncChannelInboundStream<WebSocketFrame>.AsyncIterator
    }

    /// Outgoing messages are cut into frames of this size: peers still on Hummingbird's
    /// WebSocket accept frames up to 16 KiB by default, and the receiver's aggregator
    /// reassembles them.
    static let fragmentBytes = 1 << 14
    /// How long a close waits for the peer's answering close before it closes TCP anyway.
    static let closeTimeout = TimeAmount.seconds(3)

    init(_ connection: UpgradedConnection, inbound: NIOAsyncChannelInboundStream<WebSocketFrame>, outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>) {
        certificateNames = connection.certificateNames
        certificateSerial = connection.certificateSerial
        remoteAddress = connection.remoteAddress
        localAddress = connection.localAddress
        channel = connection.frames.channel
        masked = connection.masked
        self.outbound = outbound
        reader = NIOLockedValueBox(Reader(messages: Messages(iterator: inbound.makeAsyncIterator())))
    }

    deinit {
        channel.close(promise: nil)
    }

    /// Sends one text message, fragmented as needed; returns once NIO has taken it (it
    /// waits while the peer is not reading, which is the back-pressure).
    public func send(text: String) async throws {
        try await send(message: channel.allocator.buffer(string: text))
    }

    /// `send(text:)` for a message already serialized as UTF-8 (no `String` made of it).
    public func send(utf8: [UInt8]) async throws {
        try await send(message: channel.allocator.buffer(bytes: utf8))
    }

    private func send(message: ByteBuffer) async throws {
        var message = message
        var frames: [WebSocketFrame] = []
        frames.reserveCapacity(message.readableBytes / Self.fragmentBytes + 1)
        repeat {
            let fragment = message.readSlice(length: min(Self.fragmentBytes, message.readableBytes))!
            frames.append(WebSocketFrame(fin: message.readableBytes == 0, opcode: frames.isEmpty ? .text : .continuation,
                                         maskKey: masked ? .random() : nil, data: fragment))
        } while message.readableBytes > 0
        do {
            // One write for all fragments: NIO's writer delivers them together, so concurrent
            // senders cannot interleave their fragments.
            try await outbound.write(contentsOf: frames)
        } catch {
            throw PeerNetError.reading(error)
        }
    }

    /// The next whole text message; nil when the peer closed the connection (a normal
    /// close, or TCP closed). Throws `PeerNetError.closedByPeer` for any other close status
    /// (1008: the peer refused us), `.peerSilent` when the peer stopped answering pings,
    /// `.messageTooLarge` for a message over the limit.
    public func receive() async throws -> String? {
        try await receiveUTF8().map { String(decoding: $0, as: UTF8.self) }
    }

    /// `receive()` as the message's bytes, as they came (not checked to be UTF-8: the
    /// caller does, see `UTF8Validation`).
    public func receiveUTF8() async throws -> [UInt8]? {
        let taken = reader.withLockedValue { state -> Result<Messages?, PeerNetError> in
            if state.ended { return .success(nil) }
            guard let messages = state.messages else { return .failure(.concurrentReceive) }
            state.messages = nil
            return .success(messages)
        }
        guard var messages = try taken.get() else { return nil }
        while let frame = try await next(&messages) {
            switch frame.opcode {
            case .text:
                reader.withLockedValue { $0.messages = messages }
                return Array(frame.unmaskedData.readableBytesView)
            case .binary:
                reader.withLockedValue { $0.messages = messages }
                throw PeerNetError.protocolViolation("a binary message (replication messages are JSON text)")
            case .connectionClose:
                let closing = reader.withLockedValue { state in
                    state.ended = true
                    return state.closing
                }
                if !closing { try Self.checkStatus(ofClose: frame) }
                return nil
            default:
                continue
            }
        }
        reader.withLockedValue { $0.ended = true }
        try Task.checkCancellation()
        return nil
    }

    /// Closes with 1008 (policy violation) and `reason`: how a replicator refuses a peer's
    /// stated identity. The peer's `receive()` throws `PeerNetError.closedByPeer` with it.
    public func close(policyViolation reason: String) async {
        await close(status: 1008, reason: reason)
    }

    /// Closes normally (1000): the peer's `receive()` returns nil.
    public func close() async {
        await close(status: 1000, reason: "")
    }

    /// Sends the close frame, lets the peer answer (reading on if no `receive()` is
    /// waiting, so its answer is not stuck behind unread messages), then closes TCP, after
    /// `closeTimeout` at the latest.
    private func close(status: UInt16, reason: String) async {
        let idle = reader.withLockedValue { state -> Messages? in
            state.closing = true
            guard !state.ended, let messages = state.messages else { return nil }
            state.messages = nil
            state.ended = true
            return messages
        }
        let channel = self.channel
        guard channel.isActive else { return }
        let deadline = channel.eventLoop.scheduleTask(in: Self.closeTimeout) { channel.close(promise: nil) }
        var payload = channel.allocator.buffer(capacity: 125)
        payload.writeInteger(status)
        // A control frame carries at most 125 bytes.
        var text = Substring(reason)
        while text.utf8.count > 123 { text = text.dropLast() }
        payload.writeString(String(text))
        try? await outbound.write(WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: masked ? .random() : nil, data: payload))
        if var messages = idle {
            while (try? await messages.iterator.next()) != nil {}
        }
        try? await channel.closeFuture.get()
        deadline.cancel()
    }

    /// The next frame, errors in the library's words. A peer that vanished without a TLS
    /// close_notify (a killed process) has closed the connection all the same: nil.
    private func next(_ messages: inout Messages) async throws -> WebSocketFrame? {
        do {
            return try await messages.iterator.next()
        } catch NIOSSLError.uncleanShutdown {
            reader.withLockedValue { $0.ended = true }
            return nil
        } catch {
            reader.withLockedValue { $0.ended = true }
            throw PeerNetError.reading(error)
        }
    }

    /// Throws unless the peer's close frame says normal closure (1000, 1001 or no status).
    private static func checkStatus(ofClose frame: WebSocketFrame) throws {
        var payload = frame.unmaskedData
        guard let code = payload.readInteger(as: UInt16.self), code != 1000, code != 1001 else { return }
        throw PeerNetError.closedByPeer(code: Int(code), reason: payload.readString(length: payload.readableBytes) ?? "")
    }
}
