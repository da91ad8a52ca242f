import Foundation
import HummingbirdWSClient
import SkeinReplication

/// Frames on a WebSocket: JSON text messages (docs/INTERFACES.md §8). A frame larger
/// than the WebSocket frame size is sent as fragments and reassembled on receipt.
enum FrameIO {
    /// The largest message accepted from a peer (a batch of big records).
    static let maxMessageBytes = 64 << 20

    static func send(_ frame: ReplicationFrame, _ outbound: WebSocketOutboundWriter) async throws {
        try await outbound.writeTextMessage(frame.text)
    }

    struct ProtocolError: Error, CustomStringConvertible {
        let description: String
    }

    /// The next frame, or nil when the peer closed the connection.
    static func next(_ messages: inout WebSocketInboundMessageStream.AsyncIterator) async throws -> ReplicationFrame? {
        guard let message = try await messages.next() else { return nil }
        guard case .text(let text) = message else { throw ProtocolError(description: "binary message (frames are JSON text)") }
        return try ReplicationFrame(text: text)
    }

    static func nowMillis() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }
}
