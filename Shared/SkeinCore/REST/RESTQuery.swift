/// A parsed REST collection query (`GET /Table/?breed=Poodle&age=gt=3&sort(-age)&limit(10)`):
/// typed, so the gateway turns it into a `search_by_conditions` request without looking at
/// text again.
public struct RESTQuery: Sendable, Equatable {
    public struct Sort: Sendable, Equatable {
        public var attribute: String
        public var descending: Bool

        public init(attribute: String, descending: Bool) {
            self.attribute = attribute
            self.descending = descending
        }
    }

    /// The conditions: an `and` or `or` group (empty: every record).
    public var condition: SearchCondition = .group(.and, [])
    /// `select(a,b)`: the attributes returned (nil: all).
    public var select: [String]?
    /// `limit(n)` or `limit(start,end)`.
    public var offset: Int?
    public var limit: Int?
    /// `sort(+a)` / `sort(-a)`.
    public var sort: Sort?

    public init() {}

    /// Parses a raw (still percent-encoded) query string, the part after `?`.
    public init(parsing query: String) throws(SkeinError) {
        var parser = RESTQueryParser(query)
        self = try parser.parse()
    }

    /// The `search_by_conditions` request for this query.
    public func searchBody(database: String, table: String) -> JSON {
        let (op, children): (SearchCondition.GroupOperator, [SearchCondition])
        switch condition {
        case .group(let o, let c): (op, children) = (o, c)
        case .leaf: (op, children) = (.and, [condition])
        }
        var body: [String: JSON] = [
            "operation": "search_by_conditions", "database": .string(database), "table": .string(table),
            "operator": .string(op.rawValue), "conditions": .array(children.map(\.requestJSON)),
        ]
        // Without select(...): the records as stored (`*` would pad missing attributes with null).
        if let select { body["get_attributes"] = JSON(select) }
        if let offset { body["offset"] = JSON(offset) }
        if let limit { body["limit"] = JSON(limit) }
        if let sort { body["sort"] = ["attribute": .string(sort.attribute), "descending": .bool(sort.descending)] }
        return .object(body)
    }
}

extension SearchCondition {
    /// The condition as Harper's `search_by_conditions` spells it (`SearchCondition.parse` reads it back).
    public var requestJSON: JSON {
        switch self {
        case .leaf(let attribute, let comparator, let value):
            return ["attribute": .string(attribute), "comparator": .string(comparator.rawValue), "value": value]
        case .group(let op, let children):
            return ["operator": .string(op.rawValue), "conditions": .array(children.map(\.requestJSON))]
        }
    }
}
