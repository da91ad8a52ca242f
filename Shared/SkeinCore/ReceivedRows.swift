/// A `replication_import` request (rows of a full copy) decoded the way the store needs it,
/// as `ReceivedBatch` does for `replication_apply`: every field and each row's fields built,
/// each row's `record` left as the bytes it came in (the bytes the peer stored), so a
/// copied record is neither parsed into a tree nor serialized again.
///
/// Records are checked for shape (an object, balanced, strings terminated), not rebuilt:
/// they come from an authenticated peer, and the node where they were written validated
/// them whole.
public struct ReceivedRows: Sendable {
    /// One copied row: `id`, `version`, `origin` (and `deleted`), and its record's bytes.
    public struct Row: Sendable {
        public var fields: [String: JSON]
        public var record: ArraySlice<UInt8>?
    }

    /// The request's fields other than `rows`.
    public var fields: [String: JSON]
    public var rows: [Row]

    public init(bytes: [UInt8]) throws(SkeinError) {
        var rows: [Row]? = nil
        fields = try JSONParser.requestFields(bytes, except: "rows") { (p) throws(JSONParseError) in rows = try Self.rows(&p) }
        guard let rows else { throw .badRequest("'rows' is required") }
        self.rows = rows
    }

    private static func rows(_ p: inout JSONParser) throws(JSONParseError) -> [Row] {
        guard p.index < p.bytes.count, p.bytes[p.index] == UInt8(ascii: "[") else { throw p.fail("'rows' must be a list") }
        var out: [Row] = []
        try p.forEachElement { (p) throws(JSONParseError) in
            var row = Row(fields: [:], record: nil)
            try p.forEachMember { (p, key) throws(JSONParseError) in
                if key == "record", p.bytes[p.index] == UInt8(ascii: "{") {
                    let from = p.index
                    try p.skipContainer()
                    row.record = p.bytes[from..<p.index]
                } else {
                    row.fields[key] = try p.parseValue()
                }
            }
            out.append(row)
        }
        return out
    }
}
