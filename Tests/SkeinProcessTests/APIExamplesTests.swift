import Foundation
import SkeinCore
import Testing

extension ProcessTests {
    /// docs/API.md's curl examples: every operation README's table calls supported has one,
    /// and all of them, run top to bottom against one node (with their `-H` headers),
    /// succeed (status < 400; a job they start ends COMPLETE). What an earlier answer gave
    /// (`JOB_ID`, `REFRESH_TOKEN`) is filled in from it; the file `csv_file_load` names is
    /// written by the test at that path, and the URL `csv_url_load` names is served by a
    /// loopback server the test starts.
    @Suite(.node())
    struct APIExamples {
        struct Example {
            var body: String
            /// The example sends credentials (`-u`); without them, none.
            var authenticated: Bool
            /// Its other headers (`-H 'Idempotency-Key: ...'`), Content-Type aside.
            var headers: [String: String] = [:]
            var line: Int
        }

        /// The request bodies of the `sh` blocks of docs/API.md that run curl, in order: each
        /// `-d '...'` (backslash-continued lines joined) and each here-document (`<<'EOF'`).
        static func examples() throws -> [Example] {
            let lines = try String(contentsOfFile: repositoryFile("docs/API.md"), encoding: .utf8)
                .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            var examples: [Example] = []
            var inBlock = false, blockRunsCurl = false, heredoc: (start: Int, text: [String], authenticated: Bool)?
            var command = "", commandLine = 0
            for (index, line) in lines.enumerated() {
                if !inBlock {
                    if line == "```sh" {
                        inBlock = true
                        blockRunsCurl = lines[(index + 1)...].prefix { $0 != "```" }.contains { $0.contains("curl ") }
                    }
                    continue
                }
                if line == "```" { inBlock = false; continue }
                guard blockRunsCurl else { continue }
                if var h = heredoc {
                    if line == "EOF" {
                        examples.append(Example(body: h.text.joined(separator: "\n"), authenticated: h.authenticated, line: h.start))
                        heredoc = nil
                    } else {
                        h.text.append(line)
                        heredoc = h
                    }
                    continue
                }
                if line.hasSuffix("<<'EOF'") {
                    heredoc = (index + 2, [], true)  // the block's shell function sends the admin's credentials
                    continue
                }
                if command.isEmpty { commandLine = index + 1 }
                if line.hasSuffix("\\") {
                    command += String(line.dropLast()) + " "
                    continue
                }
                command += line
                defer { command = "" }
                guard command.contains("curl "), let match = command.firstMatch(of: #/ -d '([^']*)'/#) else { continue }
                var headers: [String: String] = [:]
                for h in command.matches(of: #/ -H '([^:']+): ([^']*)'/#) where h.output.1.lowercased() != "content-type" {
                    headers[String(h.output.1)] = String(h.output.2)
                }
                examples.append(Example(body: String(match.output.1), authenticated: command.contains(" -u "), headers: headers, line: commandLine))
            }
            return examples
        }

        @Test func everySupportedOperationHasAnExampleThatWorks() async throws {
            let node = try TestNode.shared()
            let examples = try Self.examples()
            let requests = try examples.map { example in
                (example, try JSON.parse(Array(example.body.utf8)))
            }
            let operations = requests.map { $0.1["operation"]?.stringValue ?? "" }
            let supported = try HarperOperationsTable.readmeTable().supported
            #expect(supported.count > 40, "README's table was read: \(supported.count)")
            #expect(supported.subtracting(operations).sorted() == [], "supported operations without an example in docs/API.md")
            #expect(Set(operations).subtracting(supported).subtracting(["set_node"]).sorted() == [], "examples of operations README does not list")

            // What the examples need from outside the node: the CSV file csv_file_load reads
            // (at its path), and an HTTP server for csv_url_load's URL (the test's port).
            let served = FileManager.default.temporaryDirectory.appendingPathComponent("api-examples-\(UUID())").path
            try FileManager.default.createDirectory(atPath: served, withIntermediateDirectories: true)
            let server = try await LoopbackFileServer(directory: served)
            var written: [String] = [served]
            defer {
                server.stop()
                for path in written { try? FileManager.default.removeItem(atPath: path) }
            }
            let csv = "id,name,breed,age\n22,Luna,Husky,2\n"

            var jobID = "", refreshToken = ""
            for (example, request) in requests {
                let op = request["operation"]?.stringValue ?? ""
                if op == "csv_file_load", let path = request["file_path"]?.stringValue {
                    try #require(path.hasPrefix("/tmp/"), "line \(example.line): csv_file_load's example reads a file under /tmp")
                    try csv.write(toFile: path, atomically: true, encoding: .utf8)
                    written.append(path)
                }
                var body = example.body.replacingOccurrences(of: "JOB_ID", with: jobID)
                    .replacingOccurrences(of: "REFRESH_TOKEN", with: refreshToken)
                if op == "csv_url_load", let url = request["csv_url"]?.stringValue.flatMap(URL.init(string:)) {
                    try csv.write(toFile: served + "/" + url.lastPathComponent, atomically: true, encoding: .utf8)
                    body = body.replacingOccurrences(of: "\(url.host ?? ""):\(url.port ?? 80)", with: "127.0.0.1:\(server.port)")
                }
                if op == "export_local", let directory = request["path"]?.stringValue, let name = request["filename"]?.stringValue {
                    written.append(directory + "/" + name + "." + (request["format"]?.stringValue ?? "json"))
                }
                let (status, answer) = try await node.post(try JSON.parse(Array(body.utf8)), user: example.authenticated ? "" : nil,
                                                       headers: example.headers)
                #expect(status < 400, "docs/API.md line \(example.line), \(op): \(status) \(answer)")
                if let token = answer["refresh_token"]?.stringValue { refreshToken = token }
                if let id = answer["job_id"]?.stringValue {
                    jobID = id
                    let job = try await node.finishedJob(id)
                    #expect(job["status"] == "COMPLETE", "docs/API.md line \(example.line), \(op)'s job: \(job)")
                }
            }
        }
    }
}
