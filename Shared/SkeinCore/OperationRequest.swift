/// Typed access to an operations-API request body, with Harper's aliases and clear 400s.
///
/// Shared by every service that reads request bodies, so a field is validated the same
/// way wherever it arrives.
public struct OperationRequest: Sendable {
    public let body: [String: JSON]

    public init(body: [String: JSON]) { self.body = body }

    /// Parses request bytes; the body must be a JSON object with a string `operation`.
    public init(bytes: [UInt8]) throws(SkeinError) {
        let json: JSON
        do { json = try JSON.parse(bytes) } catch { throw .badRequest("request body is not valid JSON: \(error)") }
        guard case .object(let o) = json else { throw .badRequest("request body must be a JSON object, got \(json.typeName)") }
        body = o
    }

    /// Like `init(bytes:)` but nested arrays and objects come back empty: enough to route
    /// and authorize a large request without building its records.
    public init(shallowBytes bytes: [UInt8]) throws(SkeinError) {
        let json: JSON
        do { json = try JSON.parseShallow(bytes) } catch { throw .badRequest("request body is not valid JSON: \(error)") }
        guard case .object(let o) = json else { throw .badRequest("request body must be a JSON object, got \(json.typeName)") }
        body = o
    }

    public var operation: String? { body["operation"]?.stringValue }

    public func string(_ key: String, aliases: [String] = []) throws(SkeinError) -> String? {
        for k in [key] + aliases {
            guard let v = body[k], !v.isNull else { continue }
            guard case .string(let s) = v else { throw .badRequest("'\(k)' must be a string, got \(v.typeName)") }
            return s
        }
        return nil
    }

    public func requiredString(_ key: String, aliases: [String] = []) throws(SkeinError) -> String {
        guard let s = try string(key, aliases: aliases) else { throw .badRequest("'\(key)' is required") }
        guard !s.isEmpty else { throw .badRequest("'\(key)' must not be empty") }
        return s
    }

    /// `database` (alias `schema`), defaulting to `data`.
    public func database() throws(SkeinError) -> String {
        try string("database", aliases: ["schema"]) ?? "data"
    }

    public func table() throws(SkeinError) -> String { try requiredString("table") }

    public func array(_ key: String, aliases: [String] = []) throws(SkeinError) -> [JSON]? {
        for k in [key] + aliases {
            guard let v = body[k], !v.isNull else { continue }
            guard case .array(let a) = v else { throw .badRequest("'\(k)' must be an array, got \(v.typeName)") }
            return a
        }
        return nil
    }

    public func requiredArray(_ key: String, aliases: [String] = []) throws(SkeinError) -> [JSON] {
        guard let a = try array(key, aliases: aliases) else { throw .badRequest("'\(key)' is required and must be an array") }
        return a
    }

    public func bool(_ key: String) throws(SkeinError) -> Bool? {
        guard let v = body[key], !v.isNull else { return nil }
        guard case .bool(let b) = v else { throw .badRequest("'\(key)' must be a boolean, got \(v.typeName)") }
        return b
    }

    public func int(_ key: String) throws(SkeinError) -> Int? {
        guard let v = body[key], !v.isNull else { return nil }
        guard let i = v.intValue else { throw .badRequest("'\(key)' must be an integer, got \(v.typeName == "number" ? "a fraction" : v.typeName)") }
        return i
    }

    public func number(_ key: String) throws(SkeinError) -> Double? {
        guard let v = body[key], !v.isNull else { return nil }
        if case .number(let d) = v { return d }
        throw .badRequest("'\(key)' must be a number, got \(v.typeName)")
    }

    /// What a search asks to get: Harper's `select` stands for `get_attributes` and wins
    /// over it (ResourceBridge.ts). Every reader of either goes through here, so the
    /// permission check and the store never read different lists.
    public var requestedAttributes: JSON? {
        if let select = body["select"], !select.isNull { return select }
        return body["get_attributes"].flatMap { $0.isNull ? nil : $0 }
    }

    /// `get_attributes` (or `select`): an array of strings; nil (meaning all) when absent.
    public func attributes() throws(SkeinError) -> [String]? {
        guard let requested = requestedAttributes else { return nil }
        guard case .array(let list) = requested else { throw .badRequest("'get_attributes' must be an array") }
        var out: [String] = []
        for (i, v) in list.enumerated() {
            guard let s = v.stringValue else { throw .badRequest("'get_attributes[\(i)]' must be a string") }
            out.append(s)
        }
        return out
    }
}
