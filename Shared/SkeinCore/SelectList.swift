/// `get_attributes` of `search_by_value` and `search_by_conditions` as Harper 4.7 reads it:
/// attribute names, and `{"name": "owner", "select": ["city"]}` entries that narrow an
/// object attribute to some of its properties (Table.ts `transformEntryForSelect`). A
/// `select` may be a list (of names, `*`, or more such entries) or one name, which stands
/// for that property's value itself.
public struct SelectList: Sendable, Equatable {
    /// The top-level attributes, in order, `*` included: what the projection picks.
    public var names: [String]
    /// How each narrowed attribute's value is cut down: its `select`.
    public var nested: [String: JSON]

    /// Harper's validator does not check nested entries' names against the table; these
    /// are the plain names, which it does.
    public var checkedNames: [String] { names.filter { nested[$0] == nil } }

    /// nil when `json` is absent (every attribute).
    public static func parse(_ json: JSON?) throws(SkeinError) -> SelectList? {
        guard let json, !json.isNull else { return nil }
        guard case .array(let items) = json else { throw .badRequest("'get_attributes' must be an array") }
        var list = SelectList(names: [], nested: [:])
        for (i, item) in items.enumerated() {
            let path = "get_attributes[\(i)]"
            switch item {
            case .string(let name):
                list.names.append(name)
            case .object(let o):
                guard let name = o["name"]?.stringValue, !name.isEmpty else { throw .badRequest("'\(path)' needs a string 'name'") }
                let select = o["select"] ?? .null
                try validate(select, path: "\(path).select")
                list.names.append(name)
                list.nested[name] = select
            default:
                throw .badRequest("'\(path)' must be a string or an object {name, select}")
            }
        }
        return list
    }

    static func validate(_ select: JSON, path: String) throws(SkeinError) {
        switch select {
        case .string(let s) where !s.isEmpty: return
        case .array(let items):
            for (i, item) in items.enumerated() {
                if case .object(let o) = item {
                    guard o["name"]?.stringValue?.isEmpty == false else { throw .badRequest("'\(path)[\(i)]' needs a string 'name'") }
                    try validate(o["select"] ?? .null, path: "\(path)[\(i)].select")
                } else if item.stringValue?.isEmpty != false {
                    throw .badRequest("'\(path)[\(i)]' must be a string or an object {name, select}")
                }
            }
        default:
            throw .badRequest("'\(path)' must be a string or an array")
        }
    }

    /// A projected record with its nested entries applied.
    public func narrow(_ record: JSON) -> JSON {
        guard !nested.isEmpty, case .object(var o) = record else { return record }
        for (name, select) in nested {
            if let value = o[name] { o[name] = Self.narrow(value, by: select) }
        }
        return .object(o)
    }

    /// `value` cut down by `select`. Objects are narrowed; so is each object in an array
    /// (where Harper's select reads the array itself as the object, and answers `{}`);
    /// anything else stays as it is. A property the object lacks is left out, as Harper's
    /// nested select does.
    static func narrow(_ value: JSON, by select: JSON) -> JSON {
        switch value {
        case .array(let items): return .array(items.map { narrow($0, by: select) })
        case .object(let o):
            switch select {
            case .string(let one): return o[one] ?? .null
            case .array(let items):
                var out: [String: JSON] = [:]
                for item in items {
                    if item.stringValue == "*" {
                        out.merge(o) { kept, _ in kept }
                    } else if let name = item.stringValue {
                        if let v = o[name] { out[name] = v }
                    } else if let name = item["name"]?.stringValue, let v = o[name] {
                        out[name] = narrow(v, by: item["select"] ?? .null)
                    }
                }
                return .object(out)
            default: return value
            }
        default: return value
        }
    }
}
