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
