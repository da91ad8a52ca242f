import Foundation
import SkeinCore
import SkeinService

/// `delete_records_before` (Harper's, a job): deletes the records of a table created before
/// `date`, reading their ids a page at a time (a search on `__createdtime__`) and deleting
/// each page in one write, so any table size needs one page of memory. Deletes replicate
/// like any delete.
struct RecordsBefore: Sendable {
    let jobs: JobRunner

    func start(_ req: OperationRequest, _ user: AuthenticatedUser) async throws -> JSON {
        let database = try req.database(), table = try req.table()
        let before = try JobRunner.date(req, "date")
        let described = try await jobs.store.call(op: "describe_table", user: user.username,
                                                  body: ["database": .string(database), "table": .string(table)])
        guard let key = described["primary_key"]?.stringValue else { throw SkeinError.internal("describe_table gave no primary key") }
        let store = jobs.store
        return try await jobs.start("delete_records_before", user) { progress in
            let header: JSON = ["user": .string(user.username), "role": .string(user.role)]
            let search: JSON = ["operation": "search_by_conditions", "database": .string(database), "table": .string(table),
                                "get_attributes": [.string(key)],
                                "conditions": [["attribute": "__createdtime__", "comparator": "less_than", "value": .number(before)]]]
            var deleted = 0
            try await StorePages.forEach(store, header: header.adding("op", "search_by_conditions"), body: search.serialized()) { reply in
                let ids = try reply.result().arrayValue?.compactMap { $0[key] } ?? []
                guard !ids.isEmpty else { return }
                let body: JSON = ["operation": "delete", "database": .string(database), "table": .string(table), "ids": .array(ids)]
                let result = try await store.call(RPCRequest(header: header.adding("op", "delete"), body: body.serialized())).result()
                deleted += result["deleted_hashes"]?.arrayValue?.count ?? 0
                await progress("deleted \(deleted) records")
            }
            let message = "\(deleted) records successfully deleted"
            return (message, ["message": .string(message), "deleted": JSON(deleted)])
        }
    }
}
