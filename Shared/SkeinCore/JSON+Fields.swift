/// Typed reads of the replies services send each other: a missing or mistyped field is an
/// error naming it, never a silent 0 (a cursor read as 0 would mean "copy everything").
extension JSON {
    public struct MissingField: Error, CustomStringConvertible, Sendable {
        public let field: String
        public let reply: String
        public var description: String { "reply field '\(field)' is missing or of the wrong type (reply: \(reply.prefix(200)))" }

        public init(field: String, reply: String) {
            self.field = field
            self.reply = reply
        }
    }

    /// A non-negative integer field (a sequence, a count).
    public func requiredSequence(_ key: String) throws(MissingField) -> UInt64 {
        guard let d = self[key]?.doubleValue, d >= 0, let n = UInt64(exactly: d) else { throw MissingField(field: key, reply: text) }
        return n
    }
}

extension JSON {
    /// This object with `key` set (anything else is returned as it is).
    public func adding(_ key: String, _ value: JSON) -> JSON {
        guard case .object(var o) = self else { return self }
        o[key] = value
        return .object(o)
    }

    /// An HLC raw value field, carried as decimal text (it passes 2^53); nil when absent or null.
    public func optionalVersion(_ key: String) throws(MissingField) -> UInt64? {
        guard let v = self[key], !v.isNull else { return nil }
        guard let text = v.stringValue, let n = UInt64(text) else { throw MissingField(field: key, reply: self.text) }
        return n
    }
}
