import Foundation
import SkeinCore
import Testing

extension ProcessTests {
    /// Harper's jobs: `csv_data_load` answers at once with a job id; `get_job` shows CREATED,
    /// IN_PROGRESS, then COMPLETE or ERROR; a job cut off by a gateway restart ends in ERROR.
    @Suite(.serialized) struct Jobs {
        static func load(_ node: TestNode, _ table: String, _ csv: String, action: String = "insert") async throws -> String {
            let r = try await node.ok(["operation": "csv_data_load", "action": .string(action), "database": "jobs", "table": .string(table),
                                       "data": .string(csv)])
            let id = try #require(r["job_id"]?.stringValue)
            #expect(r["message"]?.stringValue == "Starting job with id \(id)")
            return id
        }

        /// The job once it is COMPLETE or ERROR.
        static func finished(_ node: TestNode, _ id: String, timeout: Double = 30) async throws -> JSON {
            try await node.finishedJob(id, timeout: timeout)
        }

        @Test func aCSVLoadWritesTypedRecords() async throws {
            try await withNode { node in
                try await node.freshTable("jobs", "dog")
                let csv = "\u{FEFF}id,name,age,good,tags,zip,note\r\n1,\"Harper, Jr.\",3,true,\"[\"\"a\"\",\"\"b\"\"]\",02134,\"two\nlines\"\n2,Rex,,FALSE,[],007,null\n"
                let id = try await Self.load(node, "dog", csv)
                let job = try await Self.finished(node, id)
                #expect(job["status"] == "COMPLETE" && job["message"] == "successfully loaded 2 of 2 records", "\(job)")
                #expect(job["type"] == "csv_data_load" && job["user"] == "admin" && job["end_datetime"]?.doubleValue != nil)
                #expect(job["request"] == nil && job["__createdtime__"] == nil)
                let dogs = try await node.ok(["operation": "search_by_id", "database": "jobs", "table": "dog", "ids": [1, 2]])
                let harper = try #require(dogs.arrayValue?.first)
                #expect(harper["name"] == "Harper, Jr." && harper["age"] == 3 && harper["good"] == true)
                #expect(harper["tags"] == ["a", "b"] && harper["zip"] == "02134" && harper["note"] == "two\nlines")
                let rex = try #require(dogs.arrayValue?.last)
                #expect(rex["age"] == "" && rex["good"] == false && rex["tags"] == [] && rex["zip"] == "007" && rex["note"]?.isNull == true)

                // Listed by start date; the admin sees it, another user does not.
                let listed = try await node.ok(["operation": "search_jobs_by_start_date", "from_date": "2020-01-01T00:00:00Z",
                                                "to_date": .number(Date().timeIntervalSince1970 * 1000 + 60_000)])
                #expect(listed.arrayValue?.contains { $0["id"]?.stringValue == id } == true)
                try await node.ok(["operation": "add_role", "role": "job_loader", "permission": ["jobs": ["tables": ["dog": ["read": true, "insert": true, "update": true]]]]])
                try await node.ok(["operation": "add_user", "username": "loader", "password": "pw-loader", "role": "job_loader", "active": true])
                let other = try await node.post(["operation": "get_job", "id": .string(id)], user: "loader", password: "pw-loader")
                #expect(other.status == 200 && other.json == [], "\(other)")
                #expect(try await node.post(["operation": "search_jobs_by_start_date", "from_date": 0, "to_date": 1], user: "loader", password: "pw-loader").status == 403)
            }
        }

        @Test func aBadRowFailsTheJobAndWritesNothing() async throws {
            try await withNode { node in
                try await node.freshTable("jobs", "cat")
                var csv = "id,name\n"
                for i in 1...1500 { csv += "\(i),cat-\(i)\n" }
                csv += "1501,\"unclosed\n1502,x\n"
                let job = try await Self.finished(node, try await Self.load(node, "cat", csv))
                #expect(job["status"] == "ERROR", "\(job)")
                #expect(job["message"]?.stringValue?.contains("line 1502") == true, "the line of the bad row: \(job)")
                let count = try await node.ok(["operation": "describe_table", "database": "jobs", "table": "cat"])["record_count"]
                #expect(count == 0, "nothing written")
                let wide = try await Self.finished(node, try await Self.load(node, "cat", "id,name\n1,a,b\n"))
                #expect(wide["status"] == "ERROR" && wide["message"]?.stringValue?.contains("row 2") == true, "\(wide)")
                let missing = try await node.post(["operation": "csv_data_load", "database": "jobs", "table": "cat"])
                #expect(missing.status == 400)
                let badAction = try await node.post(["operation": "csv_data_load", "action": "merge", "database": "jobs", "table": "cat", "data": "id\n1\n"])
                #expect(badAction.status == 400)
                #expect(try await node.ok(["operation": "get_job", "id": "no-such-job"]) == [])
            }
        }

        /// A file on the node and a URL (a loopback HTTP server the test starts), read a chunk
        /// at a time; super users only.
        @Test func filesAndURLsLoadToo() async throws {
            try await withNode { node in
                try await node.freshTable("jobs", "fish")
                let dir = node.root + "/csv"
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                var csv = "id,name,weight\n"
                for i in 1...2500 { csv += "\(i),\"fish, no. \(i)\",\(Double(i) / 4)\n" }
                try csv.write(toFile: dir + "/fish.csv", atomically: true, encoding: .utf8)

                let r = try await node.ok(["operation": "csv_file_load", "database": "jobs", "table": "fish", "file_path": .string(dir + "/fish.csv")])
                let job = try await Self.finished(node, try #require(r["job_id"]?.stringValue))
                #expect(job["status"] == "COMPLETE" && job["message"] == "successfully loaded 2500 of 2500 records" && job["type"] == "csv_file_load", "\(job)")
                let fish = try await node.ok(["operation": "search_by_id", "database": "jobs", "table": "fish", "ids": [2500]])
                #expect(fish.arrayValue?.first?["name"] == "fish, no. 2500" && fish.arrayValue?.first?["weight"] == 625)
                #expect(try await node.post(["operation": "csv_file_load", "database": "jobs", "table": "fish", "file_path": "/no/such.csv"]).status == 400)

                // Over HTTP from a loopback server.
                try csv.replacingOccurrences(of: "fish, no.", with: "net fish").write(toFile: dir + "/net.csv", atomically: true, encoding: .utf8)
                let server = try await LoopbackFileServer(directory: dir)
                defer { server.stop() }
                let port = server.port
                let started = try await node.ok(["operation": "csv_url_load", "action": "upsert", "database": "jobs", "table": "fish",
                                                 "csv_url": .string("http://127.0.0.1:\(port)/net.csv")])
                let net = try await Self.finished(node, try #require(started["job_id"]?.stringValue))
                #expect(net["status"] == "COMPLETE" && net["message"] == "successfully loaded 2500 of 2500 records", "\(net)")
                let netFish = try await node.ok(["operation": "search_by_id", "database": "jobs", "table": "fish", "ids": [7]])
                #expect(netFish.arrayValue?.first?["name"] == "net fish 7")
                let missing = try await node.ok(["operation": "csv_url_load", "database": "jobs", "table": "fish",
                                                 "csv_url": .string("http://127.0.0.1:\(port)/missing.csv")])
                let failed = try await Self.finished(node, try #require(missing["job_id"]?.stringValue))
                #expect(failed["status"] == "ERROR" && failed["message"]?.stringValue?.contains("HTTP 404") == true, "\(failed)")
                #expect(try await node.post(["operation": "csv_url_load", "database": "jobs", "table": "fish", "csv_url": "file:///etc/passwd"]).status == 400)
            }
        }

        /// A 200 MB CSV file loads with the gateway's memory bounded by one batch, not the
        /// file: its peak resident memory (VmHWM, reset before the load) grows far less than
        /// the file's size.
        @Test func a200MBFileLoadsInBoundedMemory() async throws {
            try await withNode { node in
                // What is measured is the gateway's reading: the store keeps its work small
                // (no audit log, the long text not indexed) so the test stays near a minute.
                try await node.ok(["operation": "create_table", "database": "jobs", "table": "big", "primary_key": "id", "audit": false,
                                   "attributes": [["name": "id", "indexed": true], ["name": "n", "indexed": true], ["name": "text"]]])
                // Made at test time and removed whatever happens (even with SKEIN_KEEP_TEST_ROOT).
                let path = "/tmp/skein-200mb-\(UUID().uuidString).csv"
                defer { try? FileManager.default.removeItem(atPath: path) }
                let rows = 20_000, width = 10_000
                FileManager.default.createFile(atPath: path, contents: nil)
                let file = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
                try file.write(contentsOf: Data("id,n,text\n".utf8))
                let text = String(repeating: "abcdefghij", count: width / 10)
                for start in stride(from: 1, through: rows, by: 1000) {
                    var chunk = ""
                    for id in start..<(start + 1000) { chunk += "\(id),\(id % 97),\(text)\n" }
                    try file.write(contentsOf: Data(chunk.utf8))
                }
                try file.close()
                let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber).intValue
                #expect(size > 200_000_000)

                let gateway = try #require(node.pid(.gateway))
                // Resets the peak resident set size the kernel reports as VmHWM.
                try "5".write(toFile: "/proc/\(gateway)/clear_refs", atomically: false, encoding: .utf8)
                let before = try Self.kilobytes("VmHWM", of: gateway)
                let started = Date()
                let job = try await node.runJob(["operation": "csv_file_load", "database": "jobs", "table": "big", "file_path": .string(path)],
                                                timeout: 600)
                print("200 MB CSV load: \(Int(Date().timeIntervalSince(started))) s")
                #expect(job["status"] == "COMPLETE" && job["message"]?.stringValue == "successfully loaded \(rows) of \(rows) records", "\(job)")
                let peak = try Self.kilobytes("VmHWM", of: gateway)
                print("200 MB CSV load: gateway peak RSS \(before / 1024) MB before, \(peak / 1024) MB during the load")
                #expect(peak - before < 100 * 1024, "the gateway's peak memory grew by \((peak - before) / 1024) MB for a \(size / 1_000_000) MB file")
                #expect(try await node.ok(["operation": "describe_table", "database": "jobs", "table": "big"])["record_count"] == JSON(rows))
                let last = try await node.byID("jobs", "big", [JSON(rows)]).first
                #expect(last?["n"] == JSON(rows % 97) && last?["text"]?.stringValue?.count == width, "the last row arrived whole")
            }
        }

        static func kilobytes(_ field: String, of pid: Int32) throws -> Int {
            let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
            let line = try #require(status.split(separator: "\n").first { $0.hasPrefix(field + ":") })
            return try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
        }

        /// `export_local`: a search's result written to a file on the node, page by page.
        @Test func exportLocalWritesJSONAndCSV() async throws {
            try await withNode { node in
                try await node.freshTable("jobs", "owl")
                let owls: [JSON] = (1...2500).map { ["id": JSON($0), "name": .string("owl, \"\($0)\""), "age": JSON($0 % 9), "tags": ["a"]] }
                _ = try await node.insert("jobs", "owl", owls)
                let dir = node.root + "/exports"
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                let search: JSON = ["operation": "search_by_conditions", "database": "jobs", "table": "owl", "get_attributes": ["*"],
                                    "conditions": [["attribute": "age", "comparator": "less_than", "value": 5]]]
                let expected = try await node.ok(search)
                #expect(expected.arrayValue?.count == (1...2500).filter { $0 % 9 < 5 }.count)

                let r = try await node.ok(["operation": "export_local", "format": "json", "path": .string(dir), "filename": "owls", "search_operation": search])
                let job = try await Self.finished(node, try #require(r["job_id"]?.stringValue))
                #expect(job["status"] == "COMPLETE" && job["result"]?["message"] == "Successfully exported JSON locally.", "\(job)")
                #expect(job["result"]?["path"]?.stringValue == dir + "/owls.json")
                let json = try JSON.parse(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/owls.json"))))
                // The same records; their order follows the index, which a catch-up between the two searches may change.
                func sorted(_ records: JSON) -> [JSON] { (records.arrayValue ?? []).sorted { ($0["id"]?.doubleValue ?? 0) < ($1["id"]?.doubleValue ?? 0) } }
                #expect(sorted(json) == sorted(expected), "the file holds the search's result")

                let c = try await node.ok(["operation": "export_local", "format": "csv", "path": .string(dir), "filename": "owls",
                                           "search_operation": search.adding("get_attributes", ["id", "name", "tags"])])
                let csvJob = try await Self.finished(node, try #require(c["job_id"]?.stringValue))
                #expect(csvJob["status"] == "COMPLETE" && csvJob["result"]?["message"] == "Successfully exported CSV locally.", "\(csvJob)")
                var reader = CSVReader()
                let rows = try reader.feed(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/owls.csv")))) + reader.finish()
                #expect(rows.first == ["id", "name", "tags"])
                #expect(rows.count == (expected.arrayValue?.count ?? 0) + 1)
                #expect(rows.dropFirst().contains(["1", "owl, \"1\"", "[\"a\"]"]))

                #expect(try await node.post(["operation": "export_local", "format": "xml", "path": .string(dir), "search_operation": search]).status == 400)
                #expect(try await node.post(["operation": "export_local", "format": "json", "path": "/no/such/dir", "search_operation": search]).status == 400)
                #expect(try await node.post(["operation": "export_local", "format": "json", "path": .string(dir), "filename": "../x", "search_operation": search]).status == 400)
                #expect(try await node.post(["operation": "export_local", "format": "json", "path": .string(dir),
                                             "search_operation": ["operation": "drop_table", "database": "jobs", "table": "owl"]]).status == 400)
            }
        }

        /// `delete_records_before` deletes what was created before a date, as a job; a CSV
        /// load needs the permission of its action; Harper's alias names answer.
        @Test func deleteRecordsBeforeAndAliasesAndLoadPermissions() async throws {
            try await withNode { node in
                try await node.freshTable("jobs", "ant")
                _ = try await node.insert("jobs", "ant", (1...1500).map { ["id": JSON($0)] })
                try await Task.sleep(for: .milliseconds(50))
                let cut = Date().timeIntervalSince1970 * 1000
                try await Task.sleep(for: .milliseconds(50))
                _ = try await node.insert("jobs", "ant", (1501...1600).map { ["id": JSON($0)] })
                let r = try await node.ok(["operation": "delete_records_before", "database": "jobs", "table": "ant", "date": .number(cut)])
                let job = try await Self.finished(node, try #require(r["job_id"]?.stringValue))
                #expect(job["status"] == "COMPLETE" && job["message"] == "1500 records successfully deleted", "\(job)")
                #expect(try await node.ok(["operation": "describe_table", "database": "jobs", "table": "ant"])["record_count"] == 100)
                #expect(try await node.post(["operation": "delete_records_before", "database": "jobs", "table": "ant", "date": "soon"]).status == 400)

                // Aliases.
                let log = try await node.ok(["operation": "read_audit_log", "database": "jobs", "table": "ant", "limit": 3])
                #expect(try await node.ok(["operation": "read_transaction_log", "database": "jobs", "table": "ant", "limit": 3]) == log)
                let removed = try await node.runJob(["operation": "delete_transaction_logs_before", "database": "jobs", "table": "ant", "timestamp": 1])
                #expect(removed["status"] == "COMPLETE" && removed["type"] == "delete_audit_logs_before", "\(removed)")

                // Per action: an update-only role may load with action update, not insert.
                try await node.ok(["operation": "add_role", "role": "ant_updater", "permission": ["jobs": ["tables": ["ant": ["read": true, "update": true]]]]])
                try await node.ok(["operation": "add_user", "username": "updater", "password": "pw-updater", "role": "ant_updater", "active": true])
                let insert = try await node.post(["operation": "csv_data_load", "database": "jobs", "table": "ant", "data": "id\n9001\n"],
                                                 user: "updater", password: "pw-updater")
                #expect(insert.status == 403, "\(insert)")
                let update = try await node.post(["operation": "csv_data_load", "action": "update", "database": "jobs", "table": "ant",
                                                  "data": "id,name\n1600,renamed\n"], user: "updater", password: "pw-updater")
                #expect(update.status == 200, "\(update)")
            }
        }

        /// The store killed (SIGKILL) while a long load runs, and back only after the load
        /// failed: the job ends in ERROR once the store is back, naming the rows it stopped at and how many were written before them,
        /// and exactly those are stored (or one batch more, when the message says its outcome
        /// is unknown): never half-applied without saying so.
        @Test func aStoreCrashEndsARunningJobInErrorSayingWhatWasWritten() async throws {
            try await withNode(config: ["services.timeoutMs": "2000"]) { node in
                try await node.freshTable("jobs", "crash")
                let path = node.root + "/crash.csv"
                var csv = "id,name,filler\n"
                let filler = String(repeating: "f", count: 150)
                for i in 1...300_000 { csv += "\(i),c-\(i),\(filler)\n" }
                try csv.write(toFile: path, atomically: true, encoding: .utf8)
                let r = try await node.ok(["operation": "csv_file_load", "database": "jobs", "table": "crash", "file_path": .string(path)])
                let id = try #require(r["job_id"]?.stringValue)
                _ = try await pollUntil("the job to make progress") { () -> Bool? in
                    let job = try await node.ok(["operation": "get_job", "id": .string(id)]).arrayValue?.first
                    return job?["message"]?.stringValue?.hasPrefix("loaded") == true ? true : nil
                }
                await node.kill(.store)
                // Down longer than the call's 2 s: the job fails while the store is away, and
                // its end is stored once the store is back.
                try await Task.sleep(for: .seconds(3))
                try node.start(.store)
                _ = try await pollUntil("the store to answer again") { () -> Bool? in
                    try await node.post(["operation": "get_job", "id": .string(id)]).status == 200 ? true : nil
                }
                let job = try await Self.finished(node, id, timeout: 60)
                let message = job["message"]?.stringValue ?? ""
                #expect(job["status"] == "ERROR", "\(job)")
                // "rows A-B not written (W of T records were before them): ..." or "rows A-B may or may not have been written (...)".
                let numbers = message.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
                try #require(numbers.count >= 4, "\(message)")
                let (first, last, written) = (numbers[0], numbers[1], numbers[2])
                #expect(numbers[3] == 300_000 && first == written + 2 && last - first + 1 <= 1000, "\(message)")
                let stored = try await node.ok(["operation": "sql", "sql": "SELECT COUNT(*) AS n FROM jobs.crash"]).arrayValue?.first?["n"]?.intValue
                if message.contains("may or may not have been written") {
                    #expect(stored == written || stored == written + (last - first + 1), "\(message): \(stored ?? -1) stored")
                } else {
                    #expect(message.contains("not written") && stored == written, "\(message): \(stored ?? -1) stored")
                }
            }
        }

        @Test func batchesUpsertAndAGatewayRestartEndsARunningJobInError() async throws {
            try await withNode { node in
                try await node.freshTable("jobs", "bird")
                var csv = "id,name\n"
                for i in 1...2500 { csv += "\(i),bird-\(i)\n" }
                let done = try await Self.finished(node, try await Self.load(node, "bird", csv, action: "upsert"))
                #expect(done["status"] == "COMPLETE" && done["message"] == "successfully loaded 2500 of 2500 records", "\(done)")

                // A long load, and the gateway killed while it runs.
                var big = "id,name,filler\n"
                let filler = String(repeating: "f", count: 150)
                for i in 1...40_000 { big += "\(i),b-\(i),\(filler)\n" }  // ~7 MB: under the body cap
                let id = try await Self.load(node, "bird", big, action: "upsert")
                _ = try await pollUntil("the job to make progress") { () -> Bool? in
                    let job = try await node.ok(["operation": "get_job", "id": .string(id)]).arrayValue?.first
                    return job?["message"]?.stringValue?.hasPrefix("loaded") == true ? true : nil
                }
                await node.kill(.gateway)
                try node.start(.gateway)
                let job = try await Self.finished(node, id)
                #expect(job["status"] == "ERROR", "\(job)")
                #expect(job["message"]?.stringValue?.hasPrefix("interrupted: the gateway running it stopped (loaded") == true, "\(job)")
            }
        }
    }
}
