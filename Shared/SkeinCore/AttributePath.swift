/// An attribute named in a search (`conditions[].attribute`, `sort.attribute`): a string, or
/// Harper's path array. Harper 4.7 follows a path of more than one step only through a
/// relationship attribute (a join to another table, declared in a GraphQL schema), which
/// Skein's tables never have; a path of one step is that attribute.
public enum AttributePath {
    /// The attribute `json` names; `path` is where it sits in the request, for messages.
    public static func name(_ json: JSON?, path: String) throws(SkeinError) -> String {
        switch json {
        case .string(let s) where !s.isEmpty:
            return s
        case .array(let steps) where steps.count == 1:
            if case .string(let s) = steps[0], !s.isEmpty { return s }
            throw .badRequest("'\(path)' must be a non-empty string or an array of them")
        case .array(let steps) where steps.count > 1:
            // Harper's message (resources/search.ts searchByIndex) for a path that is no join.
            throw .badRequest("Unable to query by attribute \(JSON.array(steps).text)")
        default:
            throw .badRequest("'\(path)' must be a non-empty string or an array of them")
        }
    }

    /// The attribute, or nil when `json` names none the way `name` accepts (for callers
    /// that only collect names, such as the permission check).
    public static func nameIfValid(_ json: JSON?) -> String? {
        try? name(json, path: "")
    }
}
