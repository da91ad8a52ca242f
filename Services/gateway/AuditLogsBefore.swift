import SkeinCore
import SkeinService

/// `delete_audit_logs_before` (Harper's, a job): deletes a table's audit entries older than
/// `timestamp`, in steps of at most 10,000 entries looked at (auditd's
/// `delete_audit_logs_before` with `from`/`limit`), each its own short transaction, the
/// count so far as the job's progress. The first step (one entry) runs before the job
/// starts, so a malformed request is a 400, not a failed job.
struct AuditLogsBefore: Sendable {
    let jobs: JobRunner
    let auditd: RPCClient

    func start(_ req: OperationRequest, _ user: AuthenticatedUser) async throws -> JSON {
        let database = try req.database(), table = try req.table()
        guard let timestamp = try req.number("timestamp") else { throw SkeinError.badRequest("'timestamp' (epoch milliseconds) is required") }
        let auditd = self.auditd
        @Sendable func step(from: JSON, limit: Int) async throws -> (deleted: Int, next: JSON?) {
            let reply = try await auditd.call(op: "delete_audit_logs_before", user: user.username, body: [
                "database": .string(database), "table": .string(table), "timestamp": .number(timestamp), "from": from, "limit": JSON(limit),
            ])
            return (reply["deleted"]?.intValue ?? 0, reply["next"]?.nonNull)
        }
        // A first step of one entry before the job exists: a bad name or a missing database
        // is a 400 or 404, an unreachable auditd a 503, as for any operation.
        let first = try await step(from: 0, limit: 1)
        return try await jobs.start("delete_audit_logs_before", user) { progress in
            var (deleted, next) = first
            while let from = next {
                await progress("deleted \(deleted) audit log entries so far")
                let s = try await step(from: from, limit: Self.step)
                deleted += s.deleted
                next = s.next
            }
            let message = "Successfully completed: deleted \(deleted) audit log entries of '\(database).\(table)' before \(Int64(timestamp))"
            return (message, ["message": .string(message), "deleted": JSON(deleted)])
        }
    }

    /// Entries looked at per transaction.
    static let step = 10_000
}
