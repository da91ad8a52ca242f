import Foundation
import SkeinCore
import SkeinPeerNet
import SkeinReplication

/// Frames on a replication connection: JSON text messages (docs/INTERFACES.md §8). The
/// socket reassembles fragmented messages up to `maxMessageBytes`.
enum FrameIO {
    /// The largest message accepted from a peer (a batch of big records).
    static let maxMessageBytes = ReplicationLimits.maxMessageBytes

    /// Returns the message's size in bytes (for the sent-bytes metric).
    @discardableResult
    static func send(_ frame: ReplicationFrame, _ socket: PeerSocket) async throws -> Int {
        let text = frame.text
        try await socket.send(text: text)
        return text.utf8.count
    }

    /// A message already serialized (a batch with spliced entries), sent as its bytes.
    static func send(bytes: [UInt8], _ socket: PeerSocket) async throws {
        try await socket.send(utf8: bytes)
    }

    struct ProtocolError: Error, CustomStringConvertible {
        let description: String
    }

    /// The next frame, or nil when the peer closed the connection. `received` gets the
    /// message's size in bytes (for the bytes/s in `cluster_status`). Not inlined: the
    /// typed-throws decoder inlined into a caller's async loop crashes Swift 6.3.1's
    /// optimizer (coroutine splitting, release builds).
    @inline(never)
    static func next(_ socket: PeerSocket, received: (Int) -> Void = { _ in }) async throws -> ReplicationFrame? {
        try await nextWithEntries(socket, received: received)?.frame
    }

    /// The next frame and, for a batch or a copy page, its bulk as received.
    @inline(never)
    static func nextWithEntries(_ socket: PeerSocket, received: (Int) -> Void = { _ in }) async throws -> ReceivedFrame? {
        // As bytes: a batch's entries go on to the store as they came. A text message must
        // be UTF-8 (RFC 6455), and records pass unread, so it is checked here.
        guard let bytes = try await socket.receiveUTF8() else { return nil }
        received(bytes.count)
        guard UTF8Validation.isValid(bytes) else { throw ProtocolError(description: "malformed replication frame: a text message that is not UTF-8") }
        // A batch's entries are decoded down to their headers only (sequence, version,
        // origin: what the machine looks at), a copy page's rows down to their fields (id,
        // version, origin); their records go to the store as bytes. Anything else, or a
        // message whose bulk cannot be cut out, is decoded whole.
        if let range = JSON.topLevelValueRange(of: "entries", in: bytes),
           let light = try? ReplicationFrame(json: JSON.parse(bytes, buildingDepth: Self.entryHeaderDepth)),
           case .message(.batch(_, _, let entries, _, _)) = light, !entries.isEmpty {
            return ReceivedFrame(frame: light, entries: ReplicationFrame.RawEntries(sequences: entries.map(\.sequence), bytes: bytes[range]))
        }
        if let range = JSON.topLevelValueRange(of: "rows", in: bytes),
           let light = try? ReplicationFrame(json: JSON.parse(bytes, buildingDepth: Self.copyRowDepth)),
           case .message(.copyRows(let table, let rows, _, _)) = light {
            return ReceivedFrame(frame: light, rows: ReplicationFrame.RawRows(table: table, count: rows.count, bytes: bytes[range]))
        }
        return ReceivedFrame(frame: try ReplicationFrame(bytes: bytes))
    }

    /// Frame or reply object → `entries` array → entry object: their fields' containers
    /// (records, ids, before-images, details) are left unbuilt.
    static let entryHeaderDepth = 3
    /// Frame or export reply → `rows` array → row object: each row's record is left unbuilt.
    static let copyRowDepth = 3

    static func nowMillis() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }
}
