import SkeinCore

/// A table's description in the schema catalog (`__schema`).
public struct TableSchema: Sendable, Equatable {
    public var database: String
    public var name: String
    public var primaryKey: String
    /// Every attribute seen or declared, in the order first seen. All are indexed.
    public var attributes: [String]
    public var createdTime: Double
    public var lastUpdated: Double?

    public init(database: String, name: String, primaryKey: String, attributes: [String], createdTime: Double) {
        self.database = database
        self.name = name
        self.primaryKey = primaryKey
        self.attributes = attributes
        self.createdTime = createdTime
    }

    public static let timestampAttributes = ["__createdtime__", "__updatedtime__"]

    public var json: JSON {
        var o: [String: JSON] = [
            "database": .string(database), "name": .string(name), "primary_key": .string(primaryKey),
            "attributes": JSON(attributes), "created": .number(createdTime),
        ]
        if let lastUpdated { o["last_updated"] = .number(lastUpdated) }
        return .object(o)
    }

    public init?(json: JSON) {
        guard let db = json["database"]?.stringValue, let name = json["name"]?.stringValue,
            let pk = json["primary_key"]?.stringValue
        else { return nil }
        self.init(
            database: db, name: name, primaryKey: pk,
            attributes: json["attributes"]?.arrayValue?.compactMap(\.stringValue) ?? [pk],
            createdTime: json["created"]?.doubleValue ?? 0)
        lastUpdated = json["last_updated"]?.doubleValue
    }

    /// Attributes that get a secondary index (all but the primary key).
    public var indexedAttributes: [String] { attributes.filter { $0 != primaryKey } }

    /// Harper's `describe_table` shape.
    public func describe(recordCount: Int) -> JSON {
        let attrs: [JSON] = attributes.map { a in
            a == primaryKey
                ? ["attribute": .string(a), "is_primary_key": true, "indexed": true]
                : ["attribute": .string(a), "indexed": true]
        }
        return [
            "schema": .string(database), "database": .string(database), "name": .string(name),
            "hash_attribute": .string(primaryKey), "primary_key": .string(primaryKey),
            "attributes": .array(attrs), "record_count": JSON(recordCount),
            "last_updated_record": lastUpdated.map(JSON.number) ?? .null,
            "replicate": true, "audit": true, "schema_defined": false,
            "__createdtime__": .number(createdTime),
        ]
    }
}
