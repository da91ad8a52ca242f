import Logging
import SkeinCore
import SkeinService

/// INSERT, UPDATE and DELETE: each becomes the store's own insert, update or delete (the
/// write path of the NoSQL operations: audited, replicated, indexed), with Harper's answers
/// (`inserted_hashes`, `update_hashes`, `deleted_hashes`, `skipped_hashes`). UPDATE and
/// DELETE find their records as a SELECT would (an index when the WHERE allows), then write
/// them in batches of `batchSize`.
struct SQLWrites: Sendable {
    let operation: SQLOperation
    static let batchSize = 1000

    func insert(_ insert: SQLInsert) async throws -> JSON {
        try operation.check(insert.table, ["insert"])
        guard Set(insert.columns).count == insert.columns.count else { throw SkeinError.badRequest("SQL: a column is named twice in INSERT") }
        try Self.checkNames(insert.columns)
        let evaluator = SQLEvaluator()
        var records: [JSON] = []
        for row in insert.rows {
            var record: [String: JSON] = [:]
            for (column, value) in zip(insert.columns, row) {
                if let named = value.columns.first { throw SkeinError.badRequest("SQL: VALUES may hold values only, not '\(named)'") }
                record[column] = try evaluator.evaluate(value, SQLRow())
            }
            records.append(.object(record))
        }
        return try await write("insert", insert.table, ["records": .array(records)])
    }

    func update(_ update: SQLUpdate) async throws -> JSON {
        try operation.check(update.table, ["update"])
        try Self.checkNames(update.assignments.map(\.column))
        let info = try await operation.describe(update.table)
        if let key = update.assignments.first(where: { $0.column == info.primaryKey }) {
            throw SkeinError.badRequest("SQL: the primary key '\(key.column)' cannot be updated")
        }
        let evaluator = SQLEvaluator()
        var changes: [JSON] = []
        try await matches(update.table, update.filter, info) { row, record in
            var change: [String: JSON] = [info.primaryKey: record[info.primaryKey] ?? .null]
            for a in update.assignments { change[a.column] = try evaluator.evaluate(a.value, row) }
            changes.append(.object(change))
        }
        var merged: JSON = ["message": "updated 0 of 0 records", "update_hashes": [], "skipped_hashes": []]
        for batch in changes.batches(Self.batchSize) {
            merged = Self.merge(merged, try await write("update", update.table, ["records": .array(batch)]), "update_hashes")
        }
        let done = merged["update_hashes"]?.arrayValue?.count ?? 0
        return merged.adding("message", .string("updated \(done) of \(changes.count) records"))
    }

    func delete(_ delete: SQLDelete) async throws -> JSON {
        try operation.check(delete.table, ["delete"])
        let info = try await operation.describe(delete.table)
        var ids: [JSON] = []
        try await matches(delete.table, delete.filter, info) { _, record in
            if let id = record[info.primaryKey] { ids.append(id) }
        }
        var merged: JSON = ["deleted_hashes": [], "skipped_hashes": []]
        for batch in ids.batches(Self.batchSize) {
            merged = Self.merge(merged, try await write("delete", delete.table, ["ids": .array(batch)]), "deleted_hashes")
        }
        let done = merged["deleted_hashes"]?.arrayValue?.count ?? 0
        return merged.adding("message", .string("\(done) of \(ids.count) \(ids.count == 1 ? "record" : "records") successfully deleted"))
    }

    /// Every record of `table` the WHERE clause admits (at most `SQLOperation.maxRows`).
    func matches(_ table: SQLTableName, _ filter: SQLExpression?, _ info: SQLTableInfo,
                 _ each: (SQLRow, [String: JSON]) throws -> Void) async throws {
        if let f = filter { try SQLScope.validate(Self.asSelect(table, f)) }
        let path = SQLPlanner.plan(filter, for: table, soleTable: true, info: info)
        operation.logger.debug("sql plan", metadata: ["table": .string("\(table.database).\(table.table)"), "access": .string(path.summary)])
        let evaluator = SQLEvaluator()
        var count = 0
        try await SQLTableReader(operation: operation).read(table, path) { record in
            let row = SQLRow(table, record)
            guard try evaluator.admits(filter, row) else { return true }
            count += 1
            guard count <= SQLOperation.maxRows else { throw SQLSelectRunner.tooMany(SQLOperation.maxRows, "records to change") }
            try each(row, record)
            return true
        }
    }

    /// Harper's rule for the attributes SQL writes.
    static func checkNames(_ columns: [String]) throws {
        if columns.contains(where: { $0.contains("`") || $0.contains("/") }) {
            throw SkeinError.badRequest("Attribute names cannot include backticks or forward slashes")
        }
    }

    static func asSelect(_ table: SQLTableName, _ filter: SQLExpression) -> SQLSelect {
        var select = SQLSelect()
        select.from = table
        select.filter = filter
        return select
    }

    /// One store write as the caller.
    func write(_ op: String, _ table: SQLTableName, _ fields: [String: JSON]) async throws -> JSON {
        var body = fields
        body["operation"] = .string(op)
        body["database"] = .string(table.database)
        body["table"] = .string(table.table)
        let reply = try await operation.store.call(RPCRequest(header: operation.header(op), body: JSON.object(body).serialized()))
        return try reply.result()
    }

    /// The hashes of two batches' answers, one after the other.
    static func merge(_ total: JSON, _ batch: JSON, _ written: String) -> JSON {
        var out = batch
        for key in [written, "skipped_hashes"] {
            out = out.adding(key, .array((total[key]?.arrayValue ?? []) + (batch[key]?.arrayValue ?? [])))
        }
        return out
    }
}

extension Array {
    /// Consecutive slices of at most `size` elements.
    func batches(_ size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
