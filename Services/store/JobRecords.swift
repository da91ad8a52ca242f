import SkeinCore
import SkeinLMDB
import SkeinStorage

/// The job table (`system.hdb_job`, Harper's name): one record per background job the
/// gateway runs (`csv_data_load`), written as the job moves on so a restart finds it.
extension SystemTables {
    static let jobs = "hdb_job"

    /// `job_put {record}`: writes a job record (the table is made on first use).
    func putJob(_ req: OperationRequest, _ env: DatabaseEnvironment, _ txn: LMDBTransaction, _ ctx: WriteContext) throws -> JSON {
        guard let record = req.body["record"], record["id"]?.stringValue?.isEmpty == false else {
            throw SkeinError.badRequest("'record' must be an object with a non-empty string 'id'")
        }
        if try env.table(txn, Self.jobs) == nil {
            _ = try env.createTable(txn, name: Self.jobs, primaryKey: "id", attributes: [], context: ctx)
        }
        _ = try env.write(txn, table: Self.jobs, records: [record], mode: .upsert, context: ctx)
        return ["stored": true]
    }

    /// `job_get {id}`: `[record]`, or `[]`.
    func job(_ id: String) throws -> JSON {
        let env = try system
        return .array(try env.lmdb.read { txn in
            guard try env.table(txn, Self.jobs) != nil else { return [] }
            return try env.searchByID(txn, table: Self.jobs, ids: [.string(id)], attributes: nil)
        })
    }

    /// `jobs_between {from, to}`: the jobs started between the two times (epoch ms), oldest first.
    func jobs(from: Double, to: Double) throws -> JSON {
        let env = try system
        return .array(try env.lmdb.read { txn in
            guard try env.table(txn, Self.jobs) != nil else { return [] }
            var options = DatabaseEnvironment.SearchOptions()
            options.sortAttribute = "start_datetime"
            let condition = SearchCondition.leaf(attribute: "start_datetime", comparator: .between, value: [.number(from), .number(to)])
            return try env.search(txn, table: Self.jobs, condition: condition, options: options)
        })
    }
}
