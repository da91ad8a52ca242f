/// A SELECT the store's own `search_by_conditions` answers exactly, so the gateway can
/// stream it page by page (`PagedResult`) and hold nothing: one table; the select list `*`
/// or attributes without aliases; a WHERE of comparisons, BETWEEN, IN, IS NULL, AND, OR and
/// NOT over them (the comparators are the same functions, so the answer is the same); ORDER
/// BY attributes (the store sorts keys only); LIMIT and OFFSET. Every attribute named must be
/// one the table has (the store refuses others, the gateway reads them as null). Anything
/// else, LIKE included (it ignores case, `starts_with` does not), is run by the gateway.
public enum SQLStoreSearch {
    /// The `search_by_conditions` body; nil when the statement needs the gateway. `first`:
    /// the planned term, put first so the store narrows by the same index (`SQLPlanner`).
    public static func body(_ select: SQLSelect, _ info: SQLTableInfo, first: SearchCondition? = nil) -> JSON? {
        guard let table = select.from, select.joins.isEmpty, select.groupBy.isEmpty else { return nil }
        func attribute(_ e: SQLExpression) -> String? {
            guard let a = SQLPlanner.attribute(e, table, true), info.attributes.contains(a) else { return nil }
            return a
        }
        var attributes: [String] = []
        for item in select.items {
            if case .star(let q) = item.expression, q == nil || q == table.binding || q == table.table, select.items.count == 1 {
                attributes = ["*"]
            } else if let a = attribute(item.expression), item.alias == nil || item.alias == a {
                attributes.append(a)
            } else {
                return nil
            }
        }
        var sortKeys: [JSON] = []
        for item in select.orderBy {
            guard let a = attribute(item.expression) else { return nil }
            sortKeys.append(["attribute": .string(a), "descending": .bool(item.descending)])
        }
        var conditions: [JSON] = []
        if let filter = select.filter {
            guard let condition = translate(filter, negated: false, attribute) else { return nil }
            conditions = (first.map { [$0.json] } ?? []) + [condition.json]
        }
        var body: [String: JSON] = ["operation": "search_by_conditions", "database": .string(table.database), "table": .string(table.table),
                                    "operator": "and", "conditions": .array(conditions), "get_attributes": JSON(attributes)]
        if let sort = sortKeys.reversed().reduce(JSON?.none, { next, key in next.map { key.adding("next", $0) } ?? key }) { body["sort"] = sort }
        if let limit = select.limit { body["limit"] = JSON(limit) }
        if let offset = select.offset { body["offset"] = JSON(offset) }
        return .object(body)
    }

    /// The condition `e` (or NOT `e`) is, if the store's comparators can say it.
    static func translate(_ e: SQLExpression, negated: Bool, _ attribute: (SQLExpression) -> String?) -> SearchCondition? {
        func value(_ e: SQLExpression) -> JSON? {
            guard case .literal(let v) = e, v.isKeyScalar || v.boolValue != nil || v.isNull else { return nil }
            return v
        }
        func leaf(_ column: SQLExpression, _ comparator: SearchCondition.Comparator, _ v: JSON) -> SearchCondition? {
            attribute(column).map { .leaf(attribute: $0, comparator: comparator, value: v) }
        }
        switch e {
        case .not(let inner):
            return translate(inner, negated: !negated, attribute)
        case .binary(let op, let l, let r) where op == .and || op == .or:
            guard let a = translate(l, negated: negated, attribute), let b = translate(r, negated: negated, attribute) else { return nil }
            // De Morgan: NOT (a AND b) = NOT a OR NOT b.
            return .group((op == .and) != negated ? .and : .or, [a, b])
        case .binary(let op, let l, let r) where op == .equal || op == .notEqual:
            let (column, v) = value(r) != nil ? (l, value(r)) : (r, value(l))
            guard let v, !v.isNull else { return nil }
            return leaf(column, (op == .equal) != negated ? .equals : .not_equal, v)
        case .binary(let op, let l, let r) where !negated:
            guard let comparator = SQLPlanner.comparators[op] else { return nil }
            if let v = value(r), !v.isNull { return leaf(l, comparator, v) }
            guard let v = value(l), !v.isNull, let flipped = SQLPlanner.flipped[op], let c = SQLPlanner.comparators[flipped] else { return nil }
            return leaf(r, c, v)
        case .between(let column, let low, let high, negated: let not) where !(negated != not):
            guard let lo = value(low), let hi = value(high), !lo.isNull, !hi.isNull else { return nil }
            return leaf(column, .between, [lo, hi])
        case .inList(let column, let list, negated: let not):
            let exclude = negated != not
            var leaves: [SearchCondition] = []
            for item in list {
                guard let v = value(item), !v.isNull, let l = leaf(column, exclude ? .not_equal : .equals, v) else { return nil }
                leaves.append(l)
            }
            return .group(exclude ? .and : .or, leaves)
        case .isNull(let column, negated: let not):
            return leaf(column, (negated != not) ? .not_equal : .equals, .null)
        default:
            return nil
        }
    }
}

extension SearchCondition {
    /// As a `search_by_conditions` condition.
    public var json: JSON {
        switch self {
        case .leaf(let attribute, let comparator, let value):
            ["attribute": .string(attribute), "comparator": .string(comparator.rawValue), "value": value]
        case .group(let op, let children): ["operator": .string(op.rawValue), "conditions": .array(children.map(\.json))]
        }
    }
}
