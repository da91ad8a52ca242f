import SkeinCore

/// A replication connection's frames as JSON text (docs/INTERFACES.md §8): `hello` first
/// from both sides, then the `ReplicationMessage` cases. Pure codec; no I/O.
public enum ReplicationFrame: Sendable, Equatable {
    /// The sender's node name; must match its certificate and a configured route.
    case hello(node: String)
    case message(ReplicationMessage)

    public struct DecodeError: Error, CustomStringConvertible, Sendable, Equatable {
        public let reason: String
        public var description: String { "malformed replication frame: \(reason)" }
    }

    public var json: JSON {
        switch self {
        case .hello(let node):
            return ["type": "hello", "node": .string(node)]
        case .message(.subscribe(let from, let origins)):
            return ["type": "subscribe", "from": JSON(from), "origins": JSON(origins)]
        case .message(.batch(let from, let through, let entries)):
            return ["type": "batch", "from": JSON(from), "through": JSON(through), "entries": .array(entries.map(\.json))]
        case .message(.ack(let through)):
            return ["type": "ack", "through": JSON(through)]
        case .message(.pruned(let oldest)):
            return ["type": "pruned", "oldest": JSON(oldest)]
        }
    }

    /// The text of one WebSocket message.
    public var text: String { json.text }

    public init(text: String) throws(DecodeError) {
        let parsed: JSON
        do { parsed = try JSON.parse(text) } catch { throw DecodeError(reason: "\(error)") }
        try self.init(json: parsed)
    }

    public init(json: JSON) throws(DecodeError) {
        guard case .object(let o) = json else { throw DecodeError(reason: "not a JSON object") }
        guard let type = o["type"]?.stringValue else { throw DecodeError(reason: "missing \"type\"") }
        func sequence(_ key: String) throws(DecodeError) -> UInt64 {
            guard let d = o[key]?.doubleValue, d >= 0, let n = UInt64(exactly: d) else {
                throw DecodeError(reason: "\(type).\(key) must be a sequence number")
            }
            return n
        }
        switch type {
        case "hello":
            guard let node = o["node"]?.stringValue, !node.isEmpty else { throw DecodeError(reason: "hello.node must be a node name") }
            self = .hello(node: node)
        case "subscribe":
            guard let list = o["origins"]?.arrayValue else { throw DecodeError(reason: "subscribe.origins must be a list of node names") }
            var origins: [String] = []
            for item in list {
                guard let name = item.stringValue else { throw DecodeError(reason: "subscribe.origins must be a list of node names") }
                origins.append(name)
            }
            self = .message(.subscribe(from: try sequence("from"), origins: origins))
        case "batch":
            let from = try sequence("from"), through = try sequence("through")
            guard let list = o["entries"]?.arrayValue else { throw DecodeError(reason: "batch.entries must be a list") }
            var entries: [AuditEntry] = []
            for (i, item) in list.enumerated() {
                guard let entry = AuditEntry(json: item) else { throw DecodeError(reason: "batch.entries[\(i)] is not an audit entry") }
                entries.append(entry)
            }
            self = .message(.batch(from: from, through: through, entries: entries))
        case "ack":
            self = .message(.ack(through: try sequence("through")))
        case "pruned":
            self = .message(.pruned(oldest: try sequence("oldest")))
        default:
            throw DecodeError(reason: "unknown type \"\(type)\"")
        }
    }
}
