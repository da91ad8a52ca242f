import SkeinCore

extension RPCRequest {
    /// The most bytes a point read's request holds: a handful of ids.
    public static let pointReadBytes = 4096

    /// A read that takes microseconds: a link's cursor, or the first page (at most
    /// `PageRequest.defaultBytes`) of a read by primary key of a few ids. The store answers
    /// these on its request socket's thread (`RPCServer`), without handing them to its read
    /// queue and the reply back: two thread wake-ups fewer per read on a busy node, where a
    /// reader polling for a peer's write (the lag probe, 1,000 reads a second) saw it that
    /// much later. Whatever may read much (searches by value or condition, SQL, later or
    /// bigger pages, a whole unpaged result) is not one, so it never holds up the socket.
    public var isPointRead: Bool {
        guard body.count <= Self.pointReadBytes else { return false }
        switch operation {
        case "replication_cursor":
            return true
        case "search_by_id", "search_by_hash":
            guard let page = PageRequest(header: header) else { return false }
            return page.continuation == nil && page.bytes <= PageRequest.defaultBytes
        default:
            return false
        }
    }
}
