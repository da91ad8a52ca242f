/// One row under evaluation: the record of each table in the FROM clause (joined ones
/// after the first), under the name columns qualify it with.
public struct SQLRow: Sendable, Equatable {
    public struct Binding: Sendable, Equatable {
        public var name: String
        public var table: String
        public var record: [String: JSON]

        public init(name: String, table: String, record: [String: JSON]) {
            self.name = name
            self.table = table
            self.record = record
        }
    }

    public var bindings: [Binding]

    public init(_ bindings: [Binding] = []) { self.bindings = bindings }

    /// A single table's record.
    public init(_ table: SQLTableName, _ record: [String: JSON]) {
        self.init([Binding(name: table.binding, table: table.table, record: record)])
    }

    public func binding(_ qualifier: String) -> Binding? {
        bindings.first { $0.name == qualifier } ?? bindings.first { $0.table == qualifier }
    }

    /// A column's value; null when no record has it (a missing attribute reads as null).
    public func value(table: String?, name: String) -> JSON {
        if let table { return binding(table)?.record[name] ?? .null }
        for b in bindings { if let v = b.record[name] { return v } }
        return .null
    }

    /// `*`: every table's attributes, the first table's winning where names clash.
    public func all(table: String?) -> [String: JSON] {
        if let table { return binding(table)?.record ?? [:] }
        var out: [String: JSON] = [:]
        for b in bindings.reversed() { out.merge(b.record) { _, new in new } }
        return out
    }

    public func adding(_ binding: Binding) -> SQLRow { SQLRow(bindings + [binding]) }
}
