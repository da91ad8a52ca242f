import SkeinCore

/// A table's description in the schema catalog (`__schema`).
public struct TableSchema: Sendable, Equatable {
    public var database: String
    public var name: String
    public var primaryKey: String
    /// Every attribute seen or declared, in the order first seen.
    public var attributes: [String]
    /// nil: every attribute is indexed (a dynamic table, Harper's default). A set: the table
    /// was created with declared attributes (`create_table` with `attributes: [{name,
    /// indexed}]`, Harper's `schema_defined`), and only these are indexed (plus the primary
    /// key and the timestamps); attributes seen later are stored, not indexed.
    public var indexed: Set<String>?
    /// Declared attribute types (`create_table` `attributes: [{name, type}]`, Harper's type
    /// names). A numeric primary key gets numeric ids when a record comes without one
    /// (`DatabaseEnvironment.newID`).
    public var types: [String: String] = [:]
    public var createdTime: Double
    public var lastUpdated: Double?
    /// Harper's table TTL in seconds (`TableSchema+Expiration.swift`); nil: records stay.
    public var expiration: Double?
    /// Harper's `audit`: false keeps the table's record writes out of the audit log, and so
    /// (as in Harper, whose replication streams the audit log) off the other nodes: its
    /// records stay on the node that wrote them. Its creation is logged and replicates.
    public var audit = true
    /// This node's name for the table's storage in the index environment (`i:ID:ATTR`):
    /// chosen when the table is created here, so a table dropped and created again never
    /// finds the old table's index entries. Local: not part of `json`.
    public var storageID: String?

    public init(database: String, name: String, primaryKey: String, attributes: [String], createdTime: Double, indexed: Set<String>? = nil,
                types: [String: String] = [:]) {
        self.types = types
        self.database = database
        self.name = name
        self.primaryKey = primaryKey
        self.attributes = attributes
        self.createdTime = createdTime
        self.indexed = indexed.map { $0.union(Self.timestampAttributes) }
    }

    public static let timestampAttributes = ["__createdtime__", "__updatedtime__"]

    /// Harper's attribute types.
    public static let knownTypes: Set<String> = ["String", "Int", "Long", "Float", "Number", "BigInt", "Boolean", "Date", "Bytes", "Any", "ID", "Object", "Array"]
    /// Types whose primary key is numbered when a record comes without one.
    public static let numericTypes: Set<String> = ["Int", "Long", "Float", "Number", "BigInt"]

    public var json: JSON {
        var o: [String: JSON] = [
            "database": .string(database), "name": .string(name), "primary_key": .string(primaryKey),
            "attributes": JSON(attributes), "created": .number(createdTime),
        ]
        if let lastUpdated { o["last_updated"] = .number(lastUpdated) }
        if let indexed { o["indexed"] = JSON(indexed.sorted()) }
        if !types.isEmpty { o["types"] = .object(types.mapValues(JSON.string)) }
        if let expiration { o["expiration"] = .number(expiration) }
        if !audit { o["audit"] = false }
        return .object(o)
    }

    /// The catalog form (`__schema`): `json` and the local storage identity.
    public var catalogJSON: JSON {
        storageID.map { json.adding("storage_id", .string($0)) } ?? json
    }

    public init?(json: JSON) {
        guard let db = json["database"]?.stringValue, let name = json["name"]?.stringValue,
            let pk = json["primary_key"]?.stringValue
        else { return nil }
        self.init(
            database: db, name: name, primaryKey: pk,
            attributes: json["attributes"]?.arrayValue?.compactMap(\.stringValue) ?? [pk],
            createdTime: json["created"]?.doubleValue ?? 0,
            indexed: json["indexed"]?.arrayValue.map { Set($0.compactMap(\.stringValue)) },
            types: (json["types"]?.objectValue ?? [:]).compactMapValues(\.stringValue))
        lastUpdated = json["last_updated"]?.doubleValue
        expiration = json["expiration"]?.doubleValue
        audit = json["audit"]?.boolValue ?? true
        storageID = json["storage_id"]?.stringValue
    }

    /// Whether `attribute` has a secondary index.
    /// Attributes a table may have unless `storage.maxAttributesPerTable` says otherwise.
    public static let defaultMaxAttributes = 500

    /// 400 when `attributes` is more than `limit` (writes that would grow a table past it
    /// change nothing).
    public func checkAttributeCount(_ limit: Int, database: String) throws {
        guard attributes.count <= limit else {
            throw SkeinError.badRequest("table '\(database).\(name)' would have \(attributes.count) attributes, more than \(limit) (storage.maxAttributesPerTable)")
        }
    }

    public func isIndexed(_ attribute: String) -> Bool {
        attribute != primaryKey && (indexed?.contains(attribute) ?? true)
    }

    /// Attributes that have a secondary index.
    public var indexedAttributes: [String] { attributes.filter(isIndexed) }

    /// Harper's `describe_table` shape.
    public func describe(recordCount: Int) -> JSON {
        let attrs: [JSON] = attributes.map { a in
            let described: JSON = a == primaryKey
                ? ["attribute": .string(a), "is_primary_key": true, "indexed": true]
                : ["attribute": .string(a), "indexed": .bool(isIndexed(a))]
            return types[a].map { described.adding("type", .string($0)) } ?? described
        }
        let described: JSON = [
            "schema": .string(database), "database": .string(database), "name": .string(name),
            "hash_attribute": .string(primaryKey), "primary_key": .string(primaryKey),
            "attributes": .array(attrs), "record_count": JSON(recordCount),
            "last_updated_record": lastUpdated.map(JSON.number) ?? .null,
            "replicate": .bool(audit), "audit": .bool(audit), "schema_defined": .bool(indexed != nil),
            "__createdtime__": .number(createdTime),
        ]
        return describedExpiration.map { described.adding("expiration", $0) } ?? described
    }
}
