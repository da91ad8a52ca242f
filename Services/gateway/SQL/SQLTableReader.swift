import SkeinCore
import SkeinService

/// Reads a table's candidate records for a plan through the store's paged
/// `search_by_conditions`, a page at a time, and stops (freeing the store's cursor) as soon
/// as the consumer has enough.
struct SQLTableReader: Sendable {
    let operation: SQLOperation

    /// `each` gets every candidate record; it returns false to stop.
    func read(_ table: SQLTableName, _ path: SQLAccessPath, _ each: ([String: JSON]) throws -> Bool) async throws {
        let header = operation.header("search_by_conditions")
        let body: JSON = ["operation": "search_by_conditions", "database": .string(table.database), "table": .string(table.table),
                          "conditions": path.conditions, "get_attributes": ["*"]]
        let bytes = body.serialized()
        var page = PageRequest()
        while true {
            let reply = try await operation.store.call(RPCRequest(header: page.adding(to: header), body: bytes))
            for record in try reply.result().arrayValue ?? [] {
                guard case .object(let fields) = record else { continue }
                if try !each(fields) {
                    if let more = reply.more { cancel(more, header, bytes) }
                    return
                }
            }
            guard let more = reply.more else { return }
            page.continuation = more
        }
    }

    /// Frees the store's cursor now rather than when it expires.
    func cancel(_ token: String, _ header: JSON, _ body: [UInt8]) {
        var page = PageRequest(continuation: token)
        page.cancel = true
        let request = RPCRequest(header: page.adding(to: header), body: body)
        let store = operation.store
        Task { _ = try? await store.call(request, timeoutMillis: 2000) }
    }
}
