/// The attributes an operation names, for attribute permissions (Harper's
/// `getRecordAttributes`): record keys of a write, `get_attributes` (without `*`), the
/// attribute of a value search and those of every condition, nested groups included.
public enum RequestAttributes {
    public static func named(in request: OperationRequest) -> [String] {
        var names: [String] = []
        let body = request.body
        for key in ["search_attribute", "attribute"] {
            if let name = body[key]?.stringValue { names.append(name) }
        }
        for condition in body["conditions"]?.arrayValue ?? [] { conditionAttributes(condition, into: &names) }
        if let records = body["records"]?.arrayValue, !records.isEmpty {
            for record in records { names += (record.objectValue ?? [:]).keys.sorted() }
        } else {
            names += (body["get_attributes"]?.arrayValue ?? []).compactMap(\.stringValue).filter { $0 != "*" }
        }
        return names
    }

    private static func conditionAttributes(_ condition: JSON, into names: inout [String]) {
        if let name = condition["search_attribute"]?.stringValue ?? condition["attribute"]?.stringValue { names.append(name) }
        for nested in condition["conditions"]?.arrayValue ?? [] { conditionAttributes(nested, into: &names) }
    }
}
