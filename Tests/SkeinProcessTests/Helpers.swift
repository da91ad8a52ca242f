import Foundation
import SkeinCore
import Testing

extension TestNode {
    /// The node of the enclosing `.node()` suite.
    static func shared(sourceLocation: SourceLocation = #_sourceLocation) throws -> TestNode {
        try #require(TestNode.current, "this suite needs the .node() trait", sourceLocation: sourceLocation)
    }

    /// Posts as the admin and requires 200; returns the body.
    @discardableResult
    func ok(_ body: JSON, sourceLocation: SourceLocation = #_sourceLocation) async throws -> JSON {
        let (status, json) = try await post(body)
        try #require(status == 200, "\(body) → \(status) \(json)", sourceLocation: sourceLocation)
        return json
    }

    /// Posts as the admin and requires `status` and an `{"error": "..."}` body; returns the message.
    @discardableResult
    func fails(_ body: JSON, _ status: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        let (s, json) = try await post(body)
        #expect(s == status, "\(body) → \(s) \(json)", sourceLocation: sourceLocation)
        let message = try #require(json["error"]?.stringValue, "no error message: \(json)", sourceLocation: sourceLocation)
        return message
    }

    /// The job record once `get_job` says COMPLETE or ERROR.
    func finishedJob(_ id: String, timeout: Double = 30) async throws -> JSON {
        try await pollUntil("job \(id) to finish", timeout: timeout) { () -> JSON? in
            let job = try await ok(["operation": "get_job", "id": .string(id)]).arrayValue?.first
            return ["COMPLETE", "ERROR"].contains(job?["status"]?.stringValue ?? "") ? job : nil
        }
    }

    /// Starts a job with `body` (requires 200) and returns its record once it finished.
    func runJob(_ body: JSON, timeout: Double = 30) async throws -> JSON {
        let started = try await ok(body)
        return try await finishedJob(try #require(started["job_id"]?.stringValue, "\(started)"), timeout: timeout)
    }

    /// Creates a database and a table (primary key `id` by default), dropping an older one.
    func freshTable(_ database: String, _ table: String, primaryKey: String = "id") async throws {
        _ = try await post(["operation": "drop_table", "database": .string(database), "table": .string(table)])
        try await ok(["operation": "create_table", "database": .string(database), "table": .string(table),
                      "primary_key": .string(primaryKey)])
    }

    func insert(_ database: String, _ table: String, _ records: [JSON]) async throws -> JSON {
        try await ok(["operation": "insert", "database": .string(database), "table": .string(table), "records": .array(records)])
    }

    /// `search_by_id` with every attribute.
    func byID(_ database: String, _ table: String, _ ids: [JSON]) async throws -> [JSON] {
        let r = try await ok(["operation": "search_by_id", "database": .string(database), "table": .string(table),
                              "ids": .array(ids), "get_attributes": ["*"]])
        return try #require(r.arrayValue, "not an array: \(r)")
    }

    /// `read_audit_log` of a table (extra keys merged in).
    func auditLog(_ database: String, _ table: String, _ extra: [String: JSON] = [:],
                  sourceLocation: SourceLocation = #_sourceLocation) async throws -> [JSON] {
        let r = try await ok(Self.auditBody(database, table, extra), sourceLocation: sourceLocation)
        return try #require(r.arrayValue, "not an array: \(r)", sourceLocation: sourceLocation)
    }

    /// `read_audit_log` by `hash_value` or `username`: Harper's object keyed by id or user.
    func auditHistory(_ database: String, _ table: String, _ extra: [String: JSON],
                      sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: JSON] {
        let r = try await ok(Self.auditBody(database, table, extra), sourceLocation: sourceLocation)
        return try #require(r.objectValue, "not an object: \(r)", sourceLocation: sourceLocation)
    }

    /// `read_audit_log` for polling: nil unless it answered 200 (records no issue).
    func pollAudit(_ database: String, _ table: String, _ extra: [String: JSON] = [:]) async -> JSON? {
        guard let r = try? await post(Self.auditBody(database, table, extra)), r.status == 200 else { return nil }
        return r.json
    }

    func pollAuditLog(_ database: String, _ table: String, _ extra: [String: JSON] = [:]) async -> [JSON]? {
        await pollAudit(database, table, extra)?.arrayValue
    }

    static func auditBody(_ database: String, _ table: String, _ extra: [String: JSON]) -> JSON {
        var body: [String: JSON] = ["operation": "read_audit_log", "database": .string(database), "table": .string(table)]
        for (k, v) in extra { body[k] = v }
        return .object(body)
    }
}

/// Polls `condition` (which must not record issues: no #require/#expect or `ok` in it)
/// until it holds or `timeout` passes; returns whether it held.
func eventually(timeout: Double = 15, interval: Duration = .milliseconds(200), _ condition: () async throws -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    repeat {
        if (try? await condition()) == true { return true }
        try? await Task.sleep(for: interval)
    } while Date() < deadline
    return (try? await condition()) == true
}

extension JSON {
    /// Values of `key` in an array of objects.
    func column(_ key: String) -> [JSON] { (arrayValue ?? []).compactMap { $0[key] } }

    /// Sorted integer ids of an array of records.
    func ids(_ key: String = "id") -> [Int] { column(key).compactMap(\.intValue).sorted() }

    var count: Int { arrayValue?.count ?? objectValue?.count ?? 0 }
}

extension Array where Element == JSON {
    func ids(_ key: String = "id") -> [Int] { JSON.array(self).ids(key) }
}

/// A unique, valid name (databases and tables).
func uniqueName(_ prefix: String) -> String {
    prefix + "_" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
}

/// A file of this repository, by its path from the repository's root (`docs/API.md`).
func repositoryFile(_ relative: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../" + relative).standardized.path
}

/// python3's `http.server` on a free loopback port, serving `directory` (a URL for
/// `csv_url_load`); `stop()` ends it.
struct LoopbackFileServer {
    let port: Int
    private let process: Process

    init(directory: String) async throws {
        port = TestNode.freePort()
        process = Process()
        // The system's python3 itself when there is one: `env python3` may find a version
        // manager's shim (pyenv's is a shell script), which `stop()` would end while the
        // server it started ran on, orphaned, after the tests.
        let system = "/usr/bin/python3"
        let direct = FileManager.default.isExecutableFile(atPath: system)
        process.executableURL = URL(fileURLWithPath: direct ? system : "/usr/bin/env")
        process.arguments = (direct ? [] : ["python3"]) + ["-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", directory]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let port = port
        _ = try await pollUntil("the test's HTTP server to listen") { () -> Bool? in (try? RawHTTP(port: port)) != nil ? true : nil }
    }

    /// SIGKILL: the test process blocks SIGTERM in its threads and a child started by
    /// `Process` inherits that mask, so `terminate()` left every server running.
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
