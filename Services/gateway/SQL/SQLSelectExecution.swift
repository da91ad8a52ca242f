import Logging
import SkeinCore
import SkeinService

/// Runs a SELECT: each joined table (inner or left) is read once (narrowed by its own WHERE terms, through
/// an index when one applies) into a hash on its join attribute; then the first table's
/// candidates stream through the joins into `SQLSelectRunner`, page by page, until the
/// result is complete. A single-table SELECT the store can answer exactly is handed to it
/// whole and streamed (`SQLStoreSearch`). The plan of every table is logged (debug, "sql plan").
struct SQLSelectExecution: Sendable {
    let operation: SQLOperation

    /// A joined table in memory: its records by the hash of their join attribute.
    struct HashedTable {
        let join: SQLJoin
        let key: SQLJoinKey
        var records: [JSON: [[String: JSON]]] = [:]
    }

    func run(_ select: SQLSelect) async throws -> SQLOperation.Answer {
        try SQLScope.validate(select)
        for table in select.tables { try operation.check(table, ["read"]) }
        var runner = try SQLSelectRunner(select, maxRows: SQLOperation.maxRows)
        guard let from = select.from else {
            try runner.consume(SQLRow())
            return SQLOperation.Answer(body: JSON.array(try runner.result()).serialized())
        }
        let info = try await operation.describe(from)
        let path = SQLPlanner.plan(select.filter, for: from, soleTable: select.joins.isEmpty, info: info)
        if let search = SQLStoreSearch.body(select, info, first: path.condition) {
            log(from, path, streamed: true)
            return try await stream(search)
        }
        var joined: [HashedTable] = []
        for join in select.joins { joined.append(try await hash(join, select.filter)) }
        log(from, path)
        let evaluator = SQLEvaluator()
        try await SQLTableReader(operation: operation).read(from, path) { record in
            var rows = [SQLRow(from, record)]
            for table in joined {
                var next: [SQLRow] = []
                for row in rows {
                    let met = next.count
                    let k = SQLJoinKey.hashKey(try evaluator.evaluate(table.key.outer, row))
                    for match in k.flatMap({ table.records[$0] }) ?? [] {
                        let pair = row.adding(.init(name: table.join.table.binding, table: table.join.table.table, record: match))
                        if try evaluator.admits(table.join.on, pair) { next.append(pair) }
                    }
                    if table.join.left, next.count == met {
                        next.append(row.adding(.init(name: table.join.table.binding, table: table.join.table.table, record: [:])))
                    }
                }
                rows = next
            }
            for row in rows { try runner.consume(row) }
            return !runner.isSatisfied
        }
        return SQLOperation.Answer(body: JSON.array(try runner.result()).serialized())
    }

    /// A SELECT the store answers itself (`SQLStoreSearch`): its first page now, the rest
    /// streamed to the client as it reads (nothing held in the gateway).
    func stream(_ search: JSON) async throws -> SQLOperation.Answer {
        let header = operation.header("search_by_conditions"), body = search.serialized()
        let reply = try await operation.store.call(RPCRequest(header: PageRequest().adding(to: header), body: body))
        _ = try reply.result()
        guard let more = reply.more else { return SQLOperation.Answer(body: reply.body) }
        return SQLOperation.Answer(body: reply.body, paged: PagedResult(client: operation.store, header: header, body: body, firstPage: reply.body, more: more))
    }

    /// Reads a joined table, keeping the records its own WHERE terms admit, by join key. (Not
    /// for a LEFT JOIN: there WHERE applies after the join, to the null-extended rows too.)
    func hash(_ join: SQLJoin, _ filter: SQLExpression?) async throws -> HashedTable {
        var table = HashedTable(join: join, key: try SQLJoinKey(join))
        let own = join.left ? nil : SQLPlanner.conjunction(SQLPlanner.terms(filter, onlyOf: join.table))
        let info = try await operation.describe(join.table)
        let path = SQLPlanner.plan(own, for: join.table, soleTable: false, info: info)
        log(join.table, path)
        let evaluator = SQLEvaluator()
        var count = 0
        try await SQLTableReader(operation: operation).read(join.table, path) { record in
            guard try evaluator.admits(own, SQLRow(join.table, record)),
                  let k = SQLJoinKey.hashKey(record[table.key.attribute] ?? .null) else { return true }
            count += 1
            guard count <= SQLOperation.maxRows else { throw SQLSelectRunner.tooMany(SQLOperation.maxRows, "rows of a joined table") }
            table.records[k, default: []].append(record)
            return true
        }
        return table
    }

    /// `streamed`: the store runs the whole statement (narrowed by the same index first).
    func log(_ table: SQLTableName, _ path: SQLAccessPath, streamed: Bool = false) {
        operation.logger.debug("sql plan", metadata: ["table": .string("\(table.database).\(table.table)"), "access": .string(path.summary),
                                                      "streamed": .string(String(streamed))])
    }
}
