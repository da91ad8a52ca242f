/// A `replication_apply` request decoded the way the store needs it: every field and every
/// entry header built, each record left as the bytes it came in (the bytes its origin
/// stored), so a replicated record is neither parsed into a tree nor serialized again.
/// Before-images (`previous`) are skipped: a receiver logs its own.
///
/// Records are checked for shape (an object, balanced, strings terminated), not rebuilt:
/// they come from an authenticated peer, and the node where they were written validated
/// them whole.
public struct ReceivedBatch: Sendable {
    /// The request's fields other than `entries`.
    public var fields: [String: JSON]
    /// The entries; a record entry's `received` holds its records, `records` stays empty.
    public var entries: [AuditEntry]

    public init(bytes: [UInt8]) throws(SkeinError) {
        var parts: [(header: [String: JSON], records: [ArraySlice<UInt8>])] = []
        fields = try JSONParser.requestFields(bytes, except: "entries") { (p) throws(JSONParseError) in parts = try Self.entryParts(&p) }
        entries = []
        for (i, part) in parts.enumerated() { entries.append(try Self.entry(part.header, part.records, index: i)) }
    }

    /// Each entry's header fields, and its records as they came.
    private static func entryParts(_ p: inout JSONParser) throws(JSONParseError) -> [(header: [String: JSON], records: [ArraySlice<UInt8>])] {
        var out: [(header: [String: JSON], records: [ArraySlice<UInt8>])] = []
        try p.forEachElement { (p) throws(JSONParseError) in
            var header: [String: JSON] = [:]
            var records: [ArraySlice<UInt8>] = []
            try p.forEachMember { (p, key) throws(JSONParseError) in
                switch key {
                case "records":
                    try p.forEachElement { (p) throws(JSONParseError) in
                        guard p.bytes[p.index] == UInt8(ascii: "{") else { throw p.fail("a record must be an object") }
                        let from = p.index
                        try p.skipContainer()
                        records.append(p.bytes[from..<p.index])
                    }
                case "previous": try p.skipValue()
                default: header[key] = try p.parseValue()
                }
            }
            out.append((header, records))
        }
        return out
    }

    private static func entry(_ header: [String: JSON], _ records: [ArraySlice<UInt8>], index: Int) throws(SkeinError) -> AuditEntry {
        guard var entry = AuditEntry(json: .object(header)) else { throw .badRequest("entries[\(index)] is not an audit entry") }
        if AuditEntry.recordOperations.contains(entry.operation) {
            entry.received = records
        } else {
            // Schema entries are small and read whole.
            do { entry.records = try records.map { r throws(JSONParseError) in try JSON.parse(r) } } catch {
                throw .badRequest("entries[\(index)]: \(error)")
            }
        }
        return entry
    }
}

extension JSONParser {
    /// The fields of a request body (a JSON object), except `key`, whose value `bulk` reads
    /// (the parser at it) in its own way: the part of a peer's message kept as bytes.
    static func requestFields(_ bytes: [UInt8], except key: String,
                              _ bulk: (inout JSONParser) throws(JSONParseError) -> Void) throws(SkeinError) -> [String: JSON] {
        var parser = JSONParser(bytes: bytes)
        var fields: [String: JSON] = [:]
        do {
            parser.skipSpace()
            try parser.forEachMember { (p, name) throws(JSONParseError) in
                if name == key { try bulk(&p) } else { fields[name] = try p.parseValue() }
            }
            parser.skipSpace()
            if parser.index != bytes.count { throw parser.fail("unexpected trailing characters") }
        } catch {
            throw .badRequest("request body is not valid JSON: \(error)")
        }
        return fields
    }
}
