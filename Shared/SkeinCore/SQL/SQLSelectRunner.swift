/// Runs a SELECT over rows fed one at a time (already joined): filters them with WHERE,
/// then either outputs them straight away (no ORDER BY, no aggregates: it is satisfied as
/// soon as OFFSET + LIMIT rows are out, so the reader can stop), or keeps them (sorted
/// output) or folds them into groups (aggregates). What it keeps is bounded by `maxRows`:
/// over it, a clear error instead of an unbounded gateway.
public struct SQLSelectRunner: Sendable {
    public let select: SQLSelect
    let maxRows: Int
    let evaluator = SQLEvaluator()
    /// The aggregate calls of the select list and ORDER BY, each once.
    let aggregateCalls: [SQLExpression]
    var isGrouped: Bool { !select.groupBy.isEmpty || !aggregateCalls.isEmpty }

    struct Group: Sendable {
        var first: SQLRow
        var aggregates: [SQLAggregate]
    }
    var groups: [[JSON]: Group] = [:]
    var groupOrder: [[JSON]] = []
    /// Output rows with their sort keys (sorted output), or in order (streamed output).
    var kept: [(row: [String: JSON], keys: [JSON])] = []
    var skipped = 0
    /// Rows read and matched by WHERE (tests and the plan log).
    public private(set) var matched = 0
    /// Nothing more can change the result: the reader may stop.
    public private(set) var isSatisfied = false

    public init(_ select: SQLSelect, maxRows: Int) throws(SkeinError) {
        self.select = select
        self.maxRows = maxRows
        var calls: [SQLExpression] = []
        for e in select.items.map(\.expression) + select.orderBy.map(\.expression) {
            for c in SQLAggregate.calls(in: e) where !calls.contains(c) { calls.append(c) }
        }
        aggregateCalls = calls
        if isGrouped, select.items.contains(where: { if case .star = $0.expression { true } else { false } }) {
            throw SkeinError.badRequest("SQL: SELECT * cannot be combined with GROUP BY or aggregates; name the columns")
        }
        if let f = select.filter, !SQLAggregate.calls(in: f).isEmpty {
            throw SkeinError.badRequest("SQL: aggregates are not allowed in WHERE")
        }
        isSatisfied = select.limit == 0 && !isGrouped
    }

    public mutating func consume(_ row: SQLRow) throws(SkeinError) {
        guard !isSatisfied, try evaluator.admits(select.filter, row) else { return }
        matched += 1
        if isGrouped {
            let key = try select.groupBy.map { (e) throws(SkeinError) in try evaluator.evaluate(e, row) }
            if groups[key] == nil {
                guard groups.count < maxRows else { throw Self.tooMany(maxRows, "groups") }
                groups[key] = Group(first: row, aggregates: aggregateCalls.map(SQLAggregate.init))
                groupOrder.append(key)
            }
            for i in aggregateCalls.indices { try groups[key]!.aggregates[i].add(row, evaluator) }
            return
        }
        if select.orderBy.isEmpty {
            if skipped < (select.offset ?? 0) {
                skipped += 1
                return
            }
            guard kept.count < maxRows else { throw Self.tooMany(maxRows, "result rows") }
            kept.append((try project(row, evaluator), []))
            if let limit = select.limit, kept.count >= limit { isSatisfied = true }
            return
        }
        // With a LIMIT only the first OFFSET + LIMIT rows in order can be output: keep those.
        if let limit = select.limit, kept.count >= 2 * (limit + (select.offset ?? 0)) + 1000 {
            sort(&kept)
            kept.removeLast(kept.count - (limit + (select.offset ?? 0)))
        }
        guard kept.count < maxRows else { throw Self.tooMany(maxRows, "rows to sort") }
        let out = try project(row, evaluator)
        kept.append((out, try sortKeys(row, out, evaluator)))
    }

    public static func tooMany(_ bound: Int, _ what: String) -> SkeinError {
        SkeinError(status: 413, "SQL: the statement needs more than \(bound) \(what) in memory; narrow the WHERE clause or add a LIMIT")
    }

    /// Orders rows by their ORDER BY keys.
    func sort(_ rows: inout [(row: [String: JSON], keys: [JSON])]) {
        let descending = select.orderBy.map(\.descending)
        rows.sort { a, b in
            for i in descending.indices {
                let o = SQLOrdering.compare(a.keys[i], b.keys[i])
                if o != 0 { return descending[i] ? o > 0 : o < 0 }
            }
            return false
        }
    }

    /// The result rows, in order, with OFFSET and LIMIT applied.
    public func result() throws(SkeinError) -> [JSON] {
        var rows = kept
        if isGrouped {
            // Aggregates without GROUP BY make one row even over no rows (COUNT(*) = 0).
            let keys = groupOrder.isEmpty && select.groupBy.isEmpty ? [[]] : groupOrder
            for key in keys {
                let group = groups[key]
                var evaluator = SQLEvaluator()
                let aggregates = group?.aggregates ?? aggregateCalls.map(SQLAggregate.init)
                for a in aggregates { evaluator.aggregates[a.call.description] = a.value }
                let row = group?.first ?? SQLRow()
                let out = try project(row, evaluator)
                rows.append((out, try sortKeys(row, out, evaluator)))
            }
        }
        if select.orderBy.isEmpty, !isGrouped { return rows.map { .object($0.row) } }
        if !select.orderBy.isEmpty { sort(&rows) }
        var slice = rows.dropFirst(select.offset ?? 0)
        if let limit = select.limit { slice = slice.prefix(limit) }
        return slice.map { .object($0.row) }
    }

    /// The select list applied to a row: `*` spreads attributes, anything else is named by
    /// its alias, a column by its name, an expression by its text (`COUNT(*)`, `2 + 2`).
    func project(_ row: SQLRow, _ evaluator: SQLEvaluator) throws(SkeinError) -> [String: JSON] {
        var out: [String: JSON] = [:]
        for item in select.items {
            if case .star(let table) = item.expression {
                out.merge(row.all(table: table)) { old, _ in old }
            } else {
                out[Self.columnName(item)] = try evaluator.evaluate(item.expression, row)
            }
        }
        return out
    }

    public static func columnName(_ item: SQLSelectItem) -> String {
        if let alias = item.alias { return alias }
        if case .column(_, let name) = item.expression { return name }
        return item.expression.description
    }

    /// ORDER BY values: a bare name that is a result column (an alias) sorts by that
    /// column; anything else is evaluated against the row.
    func sortKeys(_ row: SQLRow, _ out: [String: JSON], _ evaluator: SQLEvaluator) throws(SkeinError) -> [JSON] {
        try select.orderBy.map { (item) throws(SkeinError) -> JSON in
            if case .column(nil, let name) = item.expression, select.items.contains(where: { $0.alias == name }), let v = out[name] { return v }
            return try evaluator.evaluate(item.expression, row)
        }
    }
}
