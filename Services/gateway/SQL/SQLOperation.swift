import Logging
import SkeinCore
import SkeinService

/// The `sql` operation (Harper's): parses the statement, checks the caller's role on every
/// table it touches, then runs it. A SELECT reads through the store's paged search
/// (`SQLTableReader`); INSERT, UPDATE and DELETE go through the store's insert, update and
/// delete, so they are audited and replicated like the NoSQL operations.
struct SQLOperation: Sendable {
    let store: RPCClient
    let user: AuthenticatedUser
    let logger: Logger
    /// The gateway's table permission check (`PermissionDenial.check` of the caller's role).
    let authorize: @Sendable (OperationRequest, [String]) throws -> Void
    /// Rows (or groups, or rows of a joined table) one statement may hold in the gateway.
    static let maxRows = 100_000

    /// What a statement answers: the whole body, or the first page and the rest to stream.
    struct Answer: Sendable {
        var body: [UInt8]
        var paged: PagedResult? = nil
    }

    func run(_ req: OperationRequest) async throws -> Answer {
        guard let value = req.body["sql"]?.nonNull else { throw SkeinError.badRequest("The 'sql' parameter is missing from the request body") }
        guard let sql = value.stringValue else { throw SkeinError.badRequest("'sql' must be a string") }
        let result: JSON
        switch try SQLParser.parse(sql) {
        case .select(let select): return try await SQLSelectExecution(operation: self).run(select)
        case .insert(let insert): result = try await SQLWrites(operation: self).insert(insert)
        case .update(let update): result = try await SQLWrites(operation: self).update(update)
        case .delete(let delete): result = try await SQLWrites(operation: self).delete(delete)
        }
        return Answer(body: result.serialized())
    }

    /// 403 unless the caller's role may do `actions` on `table`.
    func check(_ table: SQLTableName, _ actions: [String]) throws {
        try authorize(OperationRequest(body: ["database": .string(table.database), "table": .string(table.table)]), actions)
    }

    /// The table's primary key and indexes; 404 when the database or table does not exist.
    func describe(_ table: SQLTableName) async throws -> SQLTableInfo {
        let described = try await store.call(op: "describe_table", user: user.username,
                                             body: ["database": .string(table.database), "table": .string(table.table)])
        return SQLTableInfo(describe: described)
    }

    /// The header of the requests made to the store for the caller.
    func header(_ op: String) -> JSON {
        ["op": .string(op), "user": .string(user.username), "role": .string(user.role)]
    }
}

extension OperationsHandler {
    /// The `sql` operation's outcome: a long SELECT streams like a paged search.
    func sql(_ req: OperationRequest, _ user: AuthenticatedUser) async throws -> Outcome {
        let answer = try await SQLOperation(store: store, user: user, logger: logger) { table, actions in
            // Table rights, Harper's 403 body; attribute permissions are not applied to SQL yet.
            if let denial = PermissionDenial.check(user.rules, database: try table.database(), table: try table.table(), needs: actions) {
                throw denial.error
            }
        }.run(req)
        var outcome = Outcome(status: 200, body: answer.body, operation: "sql")
        outcome.paged = answer.paged
        return outcome
    }
}
