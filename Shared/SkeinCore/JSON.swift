/// A JSON value: the unit every Skein process exchanges and stores.
///
/// Numbers are kept as `Double` (Harper speaks JavaScript numbers); integral values are
/// printed without a fraction so ids like `1` round-trip as `1`.
public enum JSON: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSON])
    case object([String: JSON])
}

extension JSON {
    public subscript(key: String) -> JSON? {
        get { if case .object(let o) = self { return o[key] } else { return nil } }
        set {
            guard case .object(var o) = self else { return }
            o[key] = newValue
            self = .object(o)
        }
    }

    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var doubleValue: Double? { if case .number(let d) = self { return d } else { return nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var arrayValue: [JSON]? { if case .array(let a) = self { return a } else { return nil } }
    public var objectValue: [String: JSON]? { if case .object(let o) = self { return o } else { return nil } }
    public var isNull: Bool { if case .null = self { return true } else { return false } }
    /// The value, or nil for `null`. Write `x.nonNull`, never `x.isNull ? nil : x`: JSON is
    /// nil-literal convertible, so that `nil` becomes `.null` and the result is never nil.
    public var nonNull: JSON? { if case .null = self { return Optional<JSON>.none } else { return self } }

    /// An integer when the number is integral and in range.
    public var intValue: Int? {
        guard case .number(let d) = self, d.rounded() == d, abs(d) < 9.0e15 else { return nil }
        return Int(d)
    }

    /// The name of the JSON type, for error messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// Is this a scalar a primary key may be (string or number)?
    public var isKeyScalar: Bool {
        switch self {
        case .string, .number: true
        default: false
        }
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSON)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, b in b }))
    }
    public init(nilLiteral: ()) { self = .null }
}

extension JSON {
    public init(_ value: Int) { self = .number(Double(value)) }
    public init(_ value: UInt64) { self = .number(Double(value)) }
    public init(_ value: String) { self = .string(value) }
    public init(_ values: [String]) { self = .array(values.map { .string($0) }) }
}

extension JSON {
    /// True when this object has every field of `other` with an equal value (extra fields,
    /// such as the timestamps the store adds, do not matter).
    public func hasFields(of other: JSON) -> Bool {
        guard let mine = objectValue, let theirs = other.objectValue else { return self == other }
        return theirs.allSatisfy { mine[$0.key] == $0.value }
    }
}
