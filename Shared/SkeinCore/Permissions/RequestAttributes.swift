/// The attributes an operation names, for attribute permissions (Harper's
/// `getRecordAttributes`): record keys of a write, `get_attributes` or `select` (without `*`), the
/// attribute of a value search and those of every condition, nested groups included, and
/// the sort's attributes.
public enum RequestAttributes {
    public static func named(in request: OperationRequest) -> [String] {
        var names: [String] = []
        let body = request.body
        for key in ["search_attribute", "attribute"] {
            if let name = AttributePath.nameIfValid(body[key]) { names.append(name) }
        }
        for condition in body["conditions"]?.arrayValue ?? [] { conditionAttributes(condition, into: &names) }
        // A sort reveals the order of what it sorts by (stricter than Harper, which skips it).
        var sort = body["sort"]
        while let level = sort, let name = AttributePath.nameIfValid(level["attribute"]) {
            names.append(name)
            sort = level["next"]
        }
        if let records = body["records"]?.arrayValue, !records.isEmpty {
            for record in records { names += (record.objectValue ?? [:]).keys.sorted() }
        } else {
            // A nested select (`{name, select}`) reads its attribute too.
            names += (request.requestedAttributes?.arrayValue ?? []).compactMap { $0.stringValue ?? $0["name"]?.stringValue }.filter { $0 != "*" }
        }
        return names
    }

    private static func conditionAttributes(_ condition: JSON, into names: inout [String]) {
        // Both spellings, each as the store reads it (a name, or a one-step path): the store
        // uses `attribute` first, so checking only one would let the other pass unchecked.
        for key in ["attribute", "search_attribute"] {
            if let name = AttributePath.nameIfValid(condition[key]) { names.append(name) }
        }
        for nested in condition["conditions"]?.arrayValue ?? [] { conditionAttributes(nested, into: &names) }
    }
}
