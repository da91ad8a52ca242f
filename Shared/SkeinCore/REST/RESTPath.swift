/// A REST request path split into its percent-decoded segments: `/Table/`, `/Table/id`,
/// `/database/Table/` or `/database/Table/id`. Which reading applies depends on which
/// tables exist, so the gateway asks `candidates` in order.
public struct RESTPath: Sendable, Equatable {
    public static let defaultDatabase = "data"

    /// A possible reading: the table, and the record id (nil for the collection).
    public struct Target: Sendable, Equatable {
        public let database: String
        public let table: String
        public let id: String?

        public init(database: String, table: String, id: String?) {
            self.database = database
            self.table = table
            self.id = id
        }
    }

    public let segments: [String]

    /// nil when a segment's percent-encoding is malformed or the path is empty.
    public init?(_ path: String) {
        var parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        if parts.last == "" { parts.removeLast() }  // `/Table/` is the collection
        var decoded: [String] = []
        for p in parts {
            guard !p.isEmpty, let d = RESTQueryLexer.percentDecoded(p) else { return nil }
            decoded.append(d)
        }
        guard !decoded.isEmpty else { return nil }
        segments = decoded
    }

    /// Readings in the order to try: a table of `data` first, then `database/Table`.
    public var candidates: [Target] {
        var out: [Target] = []
        if segments.count <= 2 { out.append(.init(database: Self.defaultDatabase, table: segments[0], id: segments.dropFirst().first)) }
        if (2...3).contains(segments.count) { out.append(.init(database: segments[0], table: segments[1], id: segments.dropFirst(2).first)) }
        return out
    }

    /// A record id from the path as the store keys it: the number when the text is exactly a
    /// number's JSON text (`7`, not `07` or `7.0`), else the string. `alternatives` also
    /// gives the other spelling, since a record may be keyed either way.
    public static func id(_ text: String) -> JSON {
        if let d = Double(text), d.isFinite, JSON.number(d).text == text { return .number(d) }
        return .string(text)
    }

    public static func alternatives(_ text: String) -> [JSON] {
        let id = id(text)
        return id.stringValue == nil ? [id, .string(text)] : [id]
    }

    /// A path segment percent-encoded (RFC 3986 unreserved characters stay as they are).
    public static func encoded(_ segment: String) -> String {
        var out = ""
        for b in segment.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                out += "%" + String(b >> 4, radix: 16, uppercase: true) + String(b & 15, radix: 16, uppercase: true)
            }
        }
        return out
    }
}
