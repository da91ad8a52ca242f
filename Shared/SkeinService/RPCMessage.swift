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
/// On the wire: `[request id][{"status": N}][body JSON bytes]`.
public struct RPCReply: Sendable {
    public var status: Int
    public var body: [UInt8]

    public init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
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
