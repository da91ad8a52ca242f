import Foundation
import SkeinCore
import SkeinService

/// `export_local` (Harper's): a job that runs a search (`search_operation`: search_by_value,
/// search_by_hash/id or search_by_conditions, with the caller's read permission) and writes
/// its result to `path/filename.FORMAT` on this node, as JSON (one array) or CSV, page by
/// page as the store hands them out (docs/INTERFACES.md §5 "Paged results"): the result is
/// never held whole.
struct LocalExport: Sendable {
    let jobs: JobRunner
    let rootPath: String
    static let searches: Set = ["search_by_value", "search_by_hash", "search_by_id", "search_by_conditions"]

    func start(_ req: OperationRequest, _ user: AuthenticatedUser, authorize: (OperationRequest, String) async throws -> Void) async throws -> JSON {
        guard let format = try req.string("format"), ["json", "csv"].contains(format) else {
            throw SkeinError.badRequest("format invalid. must be one of the following values: json, csv")
        }
        guard let given = try req.string("path"), !given.isEmpty else { throw SkeinError.badRequest("Invalid path: ") }
        let directory = given.hasPrefix("/") ? given : (rootPath as NSString).appendingPathComponent(given)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw SkeinError.badRequest("Invalid path: \(given) is not a directory on this node")
        }
        let name = try req.string("filename") ?? String(ServiceMain.nowMillis())
        guard !name.isEmpty, !name.contains("/"), name != "..", !name.contains("\u{0}") else { throw SkeinError.badRequest("'filename' must be a file name, not a path") }
        guard let search = req.body["search_operation"], case .object = search, let op = search["operation"]?.stringValue else {
            throw SkeinError.badRequest("Search operation is invalid")
        }
        guard Self.searches.contains(op) else { throw SkeinError.badRequest("Operation \(op) is not support by export.") }
        let searchRequest = try OperationRequest(bytes: search.serialized())
        try await authorize(searchRequest, op)
        let path = (directory as NSString).appendingPathComponent("\(name).\(format)")
        let columns = format == "csv" ? try await csvColumns(searchRequest, user) : []
        let store = jobs.store
        return try await jobs.start("export_local", user) { progress in
            let written = try await Self.write(store: store, op: op, search: search, user: user, to: path, columns: columns, progress: progress)
            let message = format == "json" ? "Successfully exported JSON locally." : "Successfully exported CSV locally."
            return ("\(message) \(written) records", ["message": .string(message), "path": .string(path), "records": JSON(written)])
        }
    }

    /// The CSV header: `get_attributes` when it names them, else every attribute of the table.
    func csvColumns(_ req: OperationRequest, _ user: AuthenticatedUser) async throws -> [String] {
        if let asked = try req.attributes(), !asked.contains("*") { return asked }
        let table = try await jobs.store.call(op: "describe_table", user: user.username,
                                              body: ["database": .string(try req.database()), "table": .string(try req.table())])
        return table["attributes"]?.arrayValue?.compactMap { $0["attribute"]?.stringValue } ?? []
    }

    /// Pages from the store straight to a private file (written next to it, then renamed:
    /// a reader never sees half an export). Returns how many records were written.
    static func write(store: RPCClient, op: String, search: JSON, user: AuthenticatedUser, to path: String, columns: [String],
                      progress: @escaping @Sendable (String) async -> Void) async throws -> Int {
        let partial = path + ".partial"
        guard FileManager.default.createFile(atPath: partial, contents: nil, attributes: [.posixPermissions: 0o600]),
              let out = FileHandle(forWritingAtPath: partial) else { throw SkeinError.badRequest("cannot write \(path)") }
        defer { try? out.close() }
        let csv = !columns.isEmpty
        var count = 0
        var array = ArrayStitcher()
        let header: JSON = ["op": .string(op), "user": .string(user.username), "role": .string(user.role)]
        if csv { try out.write(contentsOf: Data(CSVWriter.header(columns).utf8)) }
        var first = true
        try await StorePages.forEach(store, header: header, body: search.serialized()) { reply in
            let rows = try JSON.parse(reply.body).arrayValue ?? []
            if csv {
                try out.write(contentsOf: Data(CSVWriter.rows(rows, columns: columns).utf8))
            } else {
                try out.write(contentsOf: Data(first ? array.open(reply.body) : try array.append(reply.body)))
            }
            first = false
            count += rows.count
            await progress("exported \(count) records")
        }
        if !csv { try out.write(contentsOf: Data(array.close())) }
        try out.synchronize()
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        try FileManager.default.moveItem(atPath: partial, toPath: path)
        return count
    }
}
