import SkeinCore

/// A request between Skein processes. On the wire (ZeroMQ multipart, see
/// docs/INTERFACES.md §5): `[request id (8 bytes)][header JSON][body bytes]`.
///
/// The header carries who asks (`user`, `role`) and what (`op`); the body is the
/// operation's JSON, usually the client's original request bytes, passed through
/// unparsed by the gateway.
public struct RPCRequest: Sendable {
    public var header: JSON
    public var body: [UInt8]

    public init(header: JSON, body: [UInt8]) {
        self.header = header
        self.body = body
    }

    public var operation: String { header["op"]?.stringValue ?? "" }
    public var user: String? { header["user"]?.stringValue }
}

/// A reply: an HTTP-like status and a JSON body (`{"error": ...}` when status >= 400).
/// On the wire: `[request id][{"status": N, "more": TOKEN}][body JSON bytes]`.
public struct RPCReply: Sendable {
    public var status: Int
    public var body: [UInt8]
    /// A paged result (docs/INTERFACES.md §5 "Paged results"): the body is one page, a JSON
    /// array, and more rows follow when the same operation is asked again with header
    /// `continue: more`.
    public var more: String?

    public init(status: Int, body: [UInt8], more: String? = nil) {
        self.status = status
        self.body = body
        self.more = more
    }

    /// The header frame.
    public var header: [UInt8] {
        var h: JSON = ["status": JSON(status)]
        if let more { h = h.adding("more", .string(more)) }
        return h.serialized()
    }

    public init(status: Int = 200, json: JSON) {
        self.status = status
        self.body = json.serialized()
    }

    public init(error: SkeinError) {
        self.init(status: error.status, json: error.body)
    }

    public func json() throws -> JSON { try JSON.parse(body) }

    /// The body as JSON, or a SkeinError carrying the reply's status and message.
    public func result() throws(SkeinError) -> JSON {
        let parsed: JSON
        do { parsed = try JSON.parse(body) } catch { throw .internal("malformed reply: \(error)") }
        if status >= 400 { throw SkeinError(status: status, parsed["error"]?.stringValue ?? "error \(status)") }
        return parsed
    }
}
