import SkeinCore

/// What a record entry says of its table. A peer can receive a table's records before the
/// table's creation (it is still on the way from another node, or the table was dropped
/// there): it then creates the table from the entry, so the entry carries what the origin
/// declared — the primary key (`AuditEntry.recordDetails`), and only when set the TTL, a
/// declared table's attributes with their indexes, and attribute types. A dynamic table's
/// attributes are not listed: its records bring them. `audit` needs no field: a table
/// created with `audit: false` writes no record entries, so none reaches a peer.
extension TableSchema {
    /// `details` of this table's insert, update, upsert and delete entries.
    public var recordEntryDetails: JSON {
        var details = AuditEntry.recordDetails(primaryKey: primaryKey)
        if let expiration { details = details.adding("expiration", .number(expiration)) }
        if let indexed {
            // In the table's order (the timestamps' place in it too), less the primary key.
            details = details.adding("attributes", JSON(attributes.filter { $0 != primaryKey }))
            details = details.adding("indexed", JSON(indexed.subtracting([primaryKey] + Self.timestampAttributes).sorted()))
        }
        if !types.isEmpty { details = details.adding("types", .object(types.mapValues(JSON.string))) }
        return details
    }

    /// The table a record entry of `database.name` describes, as `createTable` takes it
    /// (an entry written before entries carried settings gives a dynamic table without TTL).
    public init(recordEntry details: JSON?, database: String, name: String, primaryKey: String) {
        let strings = { (key: String) in details?[key]?.arrayValue?.compactMap(\.stringValue) }
        self.init(database: database, name: name, primaryKey: primaryKey, attributes: strings("attributes") ?? [], createdTime: 0,
                  indexed: strings("indexed").map(Set.init), types: (details?["types"]?.objectValue ?? [:]).compactMapValues(\.stringValue))
        expiration = details?["expiration"]?.doubleValue
    }
}
