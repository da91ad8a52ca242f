import Foundation
import Logging
import SkeinCore
import SkeinService

/// Background jobs as Harper runs them (`csv_data_load`; `get_job`,
/// `search_jobs_by_start_date`): the request is answered at once with the job's id, the work
/// runs in this gateway, and the job record in `system.hdb_job` says how it goes (CREATED,
/// IN_PROGRESS with progress, COMPLETE, or ERROR with the reason). A job this gateway was
/// running when it stopped is marked ERROR when it starts again (`recoverInterrupted`).
struct JobRunner: Sendable {
    let store: RPCClient
    let nodeName: String
    let logger: Logger
    /// Rows per write: each batch is one transaction, so a failing batch writes nothing.
    static let batchRows = 1000

    enum Status: String { case created = "CREATED", inProgress = "IN_PROGRESS", complete = "COMPLETE", error = "ERROR" }

    func handle(_ op: String, _ req: OperationRequest, _ user: AuthenticatedUser) async throws -> JSON {
        switch op {
        case "csv_data_load", "csv_file_load", "csv_url_load":
            return try await startCSVLoad(op, req, user)
        case "get_job":
            guard let id = try req.string("id"), !id.isEmpty else { throw SkeinError.badRequest("'id' is required") }
            let found = try await store.call(op: "job_get", body: ["id": .string(id)]).arrayValue ?? []
            // Another user's job is not theirs to see (a super user sees every job).
            return .array(found.filter { user.isSuperUser || $0["user"]?.stringValue == user.username }.map(Self.shown))
        case "search_jobs_by_start_date":
            let from = try Self.date(req, "from_date"), to = try Self.date(req, "to_date")
            let found = try await store.call(op: "jobs_between", body: ["from": .number(from), "to": .number(to)]).arrayValue ?? []
            return .array(found.map(Self.shown))
        default:
            throw SkeinError.badRequest("Operation '\(op)' not found")
        }
    }

    /// An ERROR job's message: the error's text, or, for an error with a body of its own
    /// (a permission refusal), that body, as Harper stores it.
    static func message(of error: any Error) -> JSON {
        guard let failure = error as? SkeinError else { return .string("\(error)") }
        return failure.fields.isEmpty ? .string(failure.message) : failure.body
    }

    /// A job record as Harper shows it: without the request or the table's timestamps.
    static func shown(_ job: JSON) -> JSON {
        var job = job
        for key in ["request", "__createdtime__", "__updatedtime__"] { job[key] = nil }
        return job
    }

    static func date(_ req: OperationRequest, _ key: String) throws -> Double {
        guard let v = req.body[key], !v.isNull else { throw SkeinError.badRequest("'\(key)' is required") }
        if let ms = v.doubleValue { return ms }
        let iso = ISO8601DateFormatter()
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let dateOnly = ISO8601DateFormatter()
        dateOnly.formatOptions = [.withFullDate]
        guard let text = v.stringValue, let date = iso.date(from: text) ?? fractional.date(from: text) ?? dateOnly.date(from: text) else {
            throw SkeinError.badRequest("'\(key)' must be an ISO-8601 date or epoch milliseconds")
        }
        return date.timeIntervalSince1970 * 1000
    }

    // MARK: csv_data_load

    /// `csv_data_load` (`data`), `csv_file_load` (`file_path` on this node) and
    /// `csv_url_load` (`csv_url`, downloaded to a private temporary file first).
    func startCSVLoad(_ op: String, _ req: OperationRequest, _ user: AuthenticatedUser) async throws -> JSON {
        let action = try req.string("action") ?? "insert"
        guard ["insert", "update", "upsert"].contains(action) else { throw SkeinError.badRequest("'action' must be insert, update or upsert") }
        let database = try req.database(), table = try req.table()
        let needed = action == "upsert" ? ["insert", "update"] : [action]
        if let denial = PermissionDenial.check(user.rules, database: database, table: table, needs: needed) { throw denial.error }
        let input: CSVInput
        switch op {
        case "csv_file_load":
            guard let path = try req.string("file_path"), path.hasPrefix("/") else { throw SkeinError.badRequest("'file_path' (an absolute path on this node) is required") }
            guard FileManager.default.isReadableFile(atPath: path) else { throw SkeinError.badRequest("cannot read '\(path)' on this node") }
            input = .source(.file(path))
        case "csv_url_load":
            guard let text = try req.string("csv_url"), let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased() ?? "") else {
                throw SkeinError.badRequest("'csv_url' (an http or https URL) is required")
            }
            input = .url(url)
        default:
            guard let data = try req.string("data") else { throw SkeinError.badRequest("'data' (the CSV text) is required") }
            input = .source(.text(data))
        }
        // The target is checked now (names, existence): a job is started only for a table that is there.
        let described = try await store.call(op: "describe_table", user: user.username, body: ["database": .string(database), "table": .string(table)])
        let columns = CSVHeaderPermission(rule: user.isSuperUser ? nil : user.rules.table(database, table), database: database, table: table,
                                          needs: needed, hashAttribute: described["hash_attribute"]?.stringValue ?? "id")
        return try await start(op, user) { progress in
            let (source, downloaded) = try await input.open()
            defer { if let downloaded { try? FileManager.default.removeItem(atPath: downloaded) } }
            return (try await load(source, action: action, database: database, table: table, user: user, columns: columns, progress: progress), nil)
        }
    }

    /// What a job's work reports while it runs, and what it ends with.
    typealias Work = @Sendable (_ progress: @escaping @Sendable (String) async -> Void) async throws -> (message: String, result: JSON?)

    /// Records a job (CREATED), runs `work` in the background (IN_PROGRESS, its progress as
    /// the message; then COMPLETE with its message and `result`, or ERROR with the reason)
    /// and answers at once with Harper's `Starting job with id ID`.
    func start(_ type: String, _ user: AuthenticatedUser, _ work: @escaping Work) async throws -> JSON {
        let id = UUID().uuidString.lowercased()
        let now = Double(ServiceMain.nowMillis())
        let job = Locked<JSON>(["id": .string(id), "type": .string(type), "status": .string(Status.created.rawValue), "user": .string(user.username),
                                "node": .string(nodeName), "created_datetime": .number(now), "start_datetime": .number(now)])
        try await put(job.withLock { $0 })
        let runner = self
        Task {
            job.withLock { $0["status"] = .string(Status.inProgress.rawValue) }
            try? await runner.put(job.withLock { $0 })
            do {
                let (message, result) = try await work { progress in
                    job.withLock { $0["message"] = .string(progress) }
                    try? await runner.put(job.withLock { $0 })
                }
                job.withLock {
                    $0["status"] = .string(Status.complete.rawValue)
                    $0["message"] = .string(message)
                    if let result { $0["result"] = result }
                }
            } catch {
                job.withLock {
                    $0["status"] = .string(Status.error.rawValue)
                    $0["message"] = Self.message(of: error)
                }
                runner.logger.warning("job failed", metadata: ["job": .string(id), "error": .string("\(error)")])
            }
            job.withLock { $0["end_datetime"] = .number(Double(ServiceMain.nowMillis())) }
            await runner.putEnd(job.withLock { $0 })
        }
        return ["message": .string("Starting job with id \(id)"), "job_id": .string(id)]
    }

    /// Checks every row first (a bad row fails the job before anything is written), then
    /// writes in batches. Returns Harper's `successfully loaded N of M records`.
    func load(_ source: CSVSource, action: String, database: String, table: String, user: AuthenticatedUser,
              columns: CSVHeaderPermission, progress: (String) async -> Void) async throws -> String {
        var header: [String] = []
        var total = 0
        try await source.forEachRow { row, line in
            if line == 1 {
                if let blank = row.firstIndex(where: \.isEmpty) { throw SkeinError.badRequest("CSV header: column \(blank + 1) has no name") }
                if Set(row).count != row.count { throw SkeinError.badRequest("CSV header: a column name appears twice") }
                try columns.check(row)
                header = row
                return
            }
            guard row.count <= header.count else {
                throw SkeinError.badRequest("CSV row \(line): \(row.count) fields, the header has \(header.count)")
            }
            total += 1
        }
        guard total > 0 else { return "No records parsed from csv file." }
        var written = 0, batchStart = 2
        var batch: [JSON] = []
        func flush() async throws {
            guard !batch.isEmpty else { return }
            let body: JSON = ["operation": .string(action), "database": .string(database), "table": .string(table), "records": .array(batch)]
            do {
                let header: JSON = ["op": .string(action), "user": .string(user.username), "role": .string(user.role)]
                let result = try await store.call(RPCRequest(header: header, body: body.serialized())).result()
                written += (result["inserted_hashes"] ?? result["update_hashes"] ?? result["upserted_hashes"])?.arrayValue?.count ?? batch.count
            } catch {
                let status = (error as? SkeinError)?.status ?? 500
                let rows = "rows \(batchStart)-\(batchStart + batch.count - 1)"
                // 504: the store may have committed the batch and lost only its answer.
                let outcome = status == 504 ? "\(rows) may or may not have been written" : "\(rows) not written"
                throw SkeinError(status: status, "\(outcome) (\(written) of \(total) records were before them): \((error as? SkeinError)?.message ?? "\(error)")")
            }
            batchStart += batch.count
            batch.removeAll(keepingCapacity: true)
            await progress("loaded \(written) of \(total) records")
        }
        try await source.forEachRow { row, line in
            guard line > 1 else { return }
            var record: [String: JSON] = [:]
            for (name, text) in zip(header, row) { record[name] = CSVValue.cast(text) }
            batch.append(.object(record))
            if batch.count == Self.batchRows { try await flush() }
        }
        try await flush()
        return "successfully loaded \(written) of \(total) records"
    }

    /// What a load reads: a source now, or a URL to download when the job runs.
    enum CSVInput: Sendable {
        case source(CSVSource)
        case url(URL)

        /// The source, and the temporary file to remove afterwards.
        func open() async throws -> (CSVSource, String?) {
            switch self {
            case .source(let source): return (source, nil)
            case .url(let url):
                let path = try await CSVDownload.fetch(url)
                return (.file(path), path)
            }
        }
    }

    func put(_ job: JSON) async throws {
        _ = try await store.call(op: "job_put", body: ["record": job])
    }

    /// A job's end (COMPLETE or ERROR), stored even when the store is down right then (the
    /// job may have failed because it crashed): tried again until the store answers, for up
    /// to `endRetrySeconds`; a gateway restart after that marks the job interrupted.
    func putEnd(_ job: JSON) async {
        let started = ServiceMain.nowMillis()
        var logged = false
        while true {
            do {
                try await put(job)
                return
            } catch {
                if !logged {
                    logger.warning("cannot store a job's end yet: trying again", metadata: ["job": .string(job["id"]?.stringValue ?? ""),
                                                                                           "error": .string("\(error)")])
                    logged = true
                }
                guard ServiceMain.nowMillis() - started < Self.endRetrySeconds * 1000 else { return }
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    static let endRetrySeconds: UInt64 = 600

    /// Jobs of this node left CREATED or IN_PROGRESS by a gateway that stopped: ERROR, with
    /// how far they got (their last progress message). Only jobs started before
    /// `createdBefore` (this gateway's start): the recovery retries until the store answers,
    /// and by then this gateway may be running jobs of its own.
    func recoverInterrupted(createdBefore: UInt64) async throws {
        let all = try await store.call(op: "jobs_between", body: ["from": 0, "to": .number(Double(createdBefore) - 1)]).arrayValue ?? []
        for var job in all where job["node"]?.stringValue == nodeName
            && [Status.created.rawValue, Status.inProgress.rawValue].contains(job["status"]?.stringValue ?? "") {
            let progress = job["message"]?.stringValue.map { " (\($0) before)" } ?? ""
            job["status"] = .string(Status.error.rawValue)
            job["message"] = .string("interrupted: the gateway running it stopped\(progress)")
            job["end_datetime"] = .number(Double(ServiceMain.nowMillis()))
            try await put(job)
            logger.warning("job interrupted by a restart", metadata: ["job": .string(job["id"]?.stringValue ?? "")])
        }
    }
}
