/// A search predicate tree, parsed from Harper's `search_by_conditions` body and evaluated
/// against records. Pure: the storage layer decides which index narrows the candidates,
/// this type decides whether a record matches.
public indirect enum SearchCondition: Sendable, Equatable {
    case leaf(attribute: String, comparator: Comparator, value: JSON)
    case group(GroupOperator, [SearchCondition])

    public enum GroupOperator: String, Sendable { case and, or }

    public enum Comparator: String, Sendable, CaseIterable {
        case equals, not_equal, contains, starts_with, ends_with
        case greater_than, greater_than_equal, less_than, less_than_equal, between

        /// Harper also accepts these short spellings.
        static let aliases: [String: Comparator] = [
            "eq": .equals, "ne": .not_equal, "gt": .greater_than, "ge": .greater_than_equal,
            "gte": .greater_than_equal, "lt": .less_than, "le": .less_than_equal, "lte": .less_than_equal,
        ]

        public static func named(_ name: String) -> Comparator? {
            Comparator(rawValue: name) ?? aliases[name]
        }
    }

    /// Parses `{operator, conditions: [...]}` (a group) or `{attribute|search_attribute, comparator|search_type, value|search_value}`.
    public static func parse(_ json: JSON, path: String = "conditions") throws(SkeinError) -> SearchCondition {
        guard case .object(let o) = json else { throw .badRequest("'\(path)' entries must be objects") }
        if let conditions = o["conditions"] {
            guard case .array(let list) = conditions else { throw .badRequest("'\(path).conditions' must be an array") }
            let op = try parseOperator(o["operator"], path: path)
            var children: [SearchCondition] = []
            for (i, c) in list.enumerated() { children.append(try parse(c, path: "\(path)[\(i)]")) }
            return .group(op, children)
        }
        guard let named = o["attribute"] ?? o["search_attribute"], !named.isNull else {
            throw .badRequest("'\(path)' needs a string 'attribute'")
        }
        // Harper's path form too: `["name"]` is `name` (AttributePath).
        let attribute = try AttributePath.name(named, path: "\(path).attribute")
        // Harper's Table.search takes a condition without a comparator as `equals`.
        let compJSON = (o["comparator"] ?? o["search_type"]).flatMap { $0.isNull ? nil : $0 } ?? "equals"
        guard let compName = compJSON.stringValue else {
            throw .badRequest("'\(path)' needs a string 'comparator'")
        }
        guard let comparator = Comparator.named(compName) else {
            throw .badRequest("'\(path)': unknown comparator '\(compName)' (use one of \(Comparator.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard let value = o["value"] ?? o["search_value"] else { throw .badRequest("'\(path)' needs a 'value'") }
        if comparator == .between {
            guard case .array(let bounds) = value, bounds.count == 2 else {
                throw .badRequest("'\(path)': 'between' needs a value of two elements [low, high]")
            }
        }
        return .leaf(attribute: attribute, comparator: comparator, value: value)
    }

    /// Every attribute the conditions name, in order (for Harper's unknown-attribute check).
    public var attributes: [String] {
        switch self {
        case .leaf(let attribute, _, _): [attribute]
        case .group(_, let children): children.flatMap(\.attributes)
        }
    }

    public static func parseOperator(_ json: JSON?, path: String) throws(SkeinError) -> GroupOperator {
        guard let json else { return .and }
        guard let s = json.stringValue, let op = GroupOperator(rawValue: s.lowercased()) else {
            throw .badRequest("'\(path).operator' must be \"and\" or \"or\"")
        }
        return op
    }

    /// The `search_by_value` form: `*` wildcards at either end.
    public static func byValue(attribute: String, value: JSON) -> SearchCondition {
        guard case .string(let s) = value, s.contains("*") else {
            return .leaf(attribute: attribute, comparator: .equals, value: value)
        }
        if s == "*" || s == "**" { return .group(.and, []) }
        let starts = s.hasPrefix("*"), ends = s.hasSuffix("*")
        let core = String(s.dropFirst(starts ? 1 : 0).dropLast(ends ? 1 : 0))
        switch (starts, ends) {
        case (true, true): return .leaf(attribute: attribute, comparator: .contains, value: .string(core))
        case (false, true): return .leaf(attribute: attribute, comparator: .starts_with, value: .string(core))
        case (true, false): return .leaf(attribute: attribute, comparator: .ends_with, value: .string(core))
        default: return .leaf(attribute: attribute, comparator: .equals, value: value)
        }
    }

    public func matches(_ record: [String: JSON]) -> Bool {
        switch self {
        case .group(let op, let children):
            if children.isEmpty { return true }
            return op == .and ? children.allSatisfy { $0.matches(record) } : children.contains { $0.matches(record) }
        case .leaf(let attribute, let comparator, let value):
            let field = record[attribute] ?? .null
            return Self.compare(field, comparator, value)
        }
    }

    /// An array-valued attribute matches when the whole array or one of its elements does,
    /// as in Harper (search.ts `attributeComparator`: arrays are indexed by element), and
    /// `not_equal` is `equals` negated: no element equal either (Harper's `ne` compares the
    /// whole array; here `NOT (x = v)` in SQL and `x != v` must agree wherever they run). A
    /// comparison with null looks at the whole value: an array is not null.
    static func compare(_ field: JSON, _ comparator: Comparator, _ value: JSON) -> Bool {
        if comparator == .not_equal { return !compare(field, .equals, value) }
        if value.isNull { return compareOne(field, comparator, value) }
        return whole(field) { compareOne($0, comparator, value) }
    }

    /// Whether `test` holds for `value` or, for an array, for one of its elements.
    public static func whole(_ value: JSON, orAnElement test: (JSON) -> Bool) -> Bool {
        if test(value) { return true }
        guard case .array(let items) = value else { return false }
        return items.contains(where: test)
    }

    /// One value (a scalar, or an array taken whole) against the condition's value.
    static func compareOne(_ field: JSON, _ comparator: Comparator, _ value: JSON) -> Bool {
        switch comparator {
        case .equals, .not_equal: return looselyEqual(field, value) == (comparator == .equals)
        case .contains:
            // An element equal to the value (`3` and `"3"` too) contains it.
            if looselyEqual(field, value) { return true }
            guard let f = scalarText(field), let v = textOf(value) else { return false }
            return f.contains(v)
        case .starts_with:
            guard let f = textOf(field, field: true), let v = textOf(value) else { return false }
            return f.hasPrefix(v)
        case .ends_with:
            guard let f = scalarText(field), let v = textOf(value) else { return false }
            return f.hasSuffix(v)
        case .greater_than: return order(field, value).map { $0 > 0 } ?? false
        case .greater_than_equal: return order(field, value).map { $0 >= 0 } ?? false
        case .less_than: return order(field, value).map { $0 < 0 } ?? false
        case .less_than_equal: return order(field, value).map { $0 <= 0 } ?? false
        case .between:
            guard case .array(let b) = value, b.count == 2,
                let lo = order(field, b[0]), let hi = order(field, b[1])
            else { return false }
            return lo >= 0 && hi <= 0
        }
    }

    /// Equal, or a number and the string that is exactly its JSON text (`1` and `"1"`, not
    /// `"1.0"`): ids arrive both ways from HTTP clients. Kept this narrow so an index
    /// lookup of the two spellings finds exactly what a scan finds.
    public static func looselyEqual(_ a: JSON, _ b: JSON) -> Bool {
        if a == b { return true }
        switch (a, b) {
        case (.number, .string(let s)): return a.text == s
        case (.string(let s), .number): return b.text == s
        default: return false
        }
    }

    /// `contains` and `ends_with` read any scalar field as its text, as Harper's filters do
    /// (search.ts `filterByType`: `recordValue?.toString().includes(value)`): `125` contains
    /// `2` and ends with `25`, `true` contains `ru`. `starts_with` does not (`textOf`):
    /// Harper's test there is `typeof recordValue === 'string'`, and its index range holds
    /// strings only.
    static func scalarText(_ v: JSON) -> String? {
        switch v {
        case .string(let s): return s
        case .number: return v.text
        case .bool(let b): return b ? "true" : "false"
        default: return nil
        }
    }

    /// `starts_with` looks at string fields only; a number value is taken as its text.
    static func textOf(_ v: JSON, field: Bool = false) -> String? {
        switch v {
        case .string(let s): return s
        case .number where !field: return v.text
        default: return nil
        }
    }

    /// -1/0/1 for values of the same kind (numbers, or strings by UTF-8 bytes, the order
    /// of the index); nil otherwise: ranges never compare across kinds.
    public static func order(_ a: JSON, _ b: JSON) -> Int? {
        switch (a, b) {
        case (.number(let x), .number(let y)): return x < y ? -1 : (x > y ? 1 : 0)
        case (.string(let x), .string(let y)):
            return x.utf8.lexicographicallyPrecedes(y.utf8) ? -1 : (x == y ? 0 : 1)
        default: return nil
        }
    }
}
