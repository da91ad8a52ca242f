/// A record of a write request: an object read as `RecordMembers`, or whatever else a
/// client put in `records` (refused by the write, with its type named).
public enum WriteRecord: Sendable {
    case object(RecordMembers)
    case other(JSON)
}

/// An `insert`, `update` or `upsert` request read from the bytes a client sent: its fields
/// as a tree, its records each as `RecordMembers` (no tree built for them). When `records`
/// is not an array, it stays among the fields, for the write's own error.
public struct IncomingWrite: Sendable {
    public let fields: [String: JSON]
    public let records: [WriteRecord]?

    public init(bytes: [UInt8]) throws(SkeinError) {
        var records: [WriteRecord]? = nil
        var other: JSON? = nil
        var fields = try JSONParser.requestFields(bytes, except: "records") { (p) throws(JSONParseError) in
            // A repeated `records`: the last counts, as in a tree.
            guard p.bytes[p.index] == UInt8(ascii: "[") else {
                other = try p.parseValue()
                records = nil
                return
            }
            other = nil
            var list: [WriteRecord] = []
            try p.forEachElement { (p) throws(JSONParseError) in
                list.append(p.bytes[p.index] == UInt8(ascii: "{") ? .object(try RecordMembers(&p)) : .other(try p.parseValue()))
            }
            records = list
        }
        if let other { fields["records"] = other }
        self.fields = fields
        self.records = records
    }
}
