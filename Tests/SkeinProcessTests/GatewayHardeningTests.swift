import Foundation
import SkeinCore
import Testing

extension ProcessTests {
    /// The operations API facing clients that do not play nice: no credentials, wrong
    /// passwords in bulk, slow or idle connections, too many connections.
    @Suite struct GatewayHardening {
        static let describe = #"{"operation":"describe_all"}"#

        @Test func credentialsAreCheckedBeforeTheBodyIsRead() async throws {
            try await withNode { node in
                let c = try RawHTTP(port: node.port)
                // A 10 MB body announced, none sent: the answer comes from the headers alone.
                #expect(c.send("POST / HTTP/1.1\r\nHost: x\r\nAuthorization: \(TestNode.basic("admin", "wrong"))\r\nContent-Length: 10485760\r\n\r\n"))
                let r = c.read(timeout: 5)
                #expect(r.text.hasPrefix("HTTP/1.1 401"), "\(r.text.prefix(200))")
                let none = try RawHTTP(port: node.port)
                #expect(none.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10485760\r\n\r\n"))
                #expect(none.read(timeout: 5).text.hasPrefix("HTTP/1.1 401"))
            }
        }

        @Test func unauthenticatedBodiesLeaveTheGatewayFlat() async throws {
            try await withNode { node in
                let pid = try #require(node.pid(.gateway))
                let before = try Self.rssKB(pid)
                let port = node.port
                let junk = [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 20)
                // 100 clients at once, each announcing 10 MB and pushing up to 2 MB of it.
                let answers = await withTaskGroup(of: String.self) { group in
                    for _ in 0..<100 {
                        group.addTask {
                            guard let c = try? RawHTTP(port: port) else { return "connect failed" }
                            _ = c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10485760\r\n\r\n")
                            for _ in 0..<2 where c.send(junk) {}
                            return String(c.read(timeout: 10).text.prefix(12))
                        }
                    }
                    var all: [String] = []
                    for await a in group { all.append(a) }
                    return all
                }
                #expect(answers.allSatisfy { $0.isEmpty || $0.hasPrefix("HTTP/1.1 401") }, "\(Set(answers))")
                // A valid client is served meanwhile and after.
                #expect(try await node.post(["operation": "describe_all"]).status == 200)
                let after = try Self.rssKB(pid)
                #expect(after - before < 64 * 1024, "gateway RSS grew \(before) → \(after) kB")
            }
        }

        @Test func failedLoginsAreThrottledPerAddressAndUser() async throws {
            try await withNode { node in
                for attempt in 1...5 {
                    let r = try await node.post(["operation": "describe_all"], user: "admin", password: "wrong-\(attempt)")
                    #expect(r.status == 401, "attempt \(attempt): \(r.status)")
                }
                // The sixth try from this address waits, even with the right password...
                let c = try RawHTTP(port: node.port)
                #expect(c.send(RawHTTP.post(Self.describe, authorization: TestNode.basic(node.adminUser, node.adminPassword))))
                let throttled = c.read(timeout: 5).text
                #expect(throttled.hasPrefix("HTTP/1.1 429"), "\(throttled.prefix(300))")
                #expect(throttled.lowercased().contains("retry-after: 1"), "\(throttled.prefix(300))")
                // ...while the admin logs in from another address at once.
                let other = try RawHTTP(port: node.port, source: "127.0.0.2")
                #expect(other.send(RawHTTP.post(Self.describe, authorization: TestNode.basic(node.adminUser, node.adminPassword))))
                #expect(other.read(timeout: 5).text.hasPrefix("HTTP/1.1 200"))
                // After the wait, the right password works from the first address again.
                try await Task.sleep(for: .milliseconds(1100))
                #expect(try await node.post(["operation": "describe_all"]).status == 200)
                // Unknown users are refused like wrong passwords (and counted the same way).
                #expect(try await node.post(["operation": "describe_all"], user: "nobody", password: "x").json == ["error": "Login failed"])
            }
        }

        /// Many clients with the same valid credentials at once (nothing cached yet) all get in:
        /// they share one password check instead of running into the cap on checks.
        @Test func clientsStartingTogetherShareOnePasswordCheck() async throws {
            try await withNode { node in
                try await node.ok(["operation": "add_user", "username": "svc", "password": "svc-pass-1", "role": "super_user", "active": true])
                let statuses = await withTaskGroup(of: Int.self) { group in
                    for _ in 0..<16 {
                        group.addTask { (try? await node.post(["operation": "describe_all"], user: "svc", password: "svc-pass-1").status) ?? -1 }
                    }
                    var all: [Int] = []
                    for await s in group { all.append(s) }
                    return all
                }
                #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses)")
            }
        }

        @Test func slowAndIdleConnectionsAreCutOff() async throws {
            try await withNode(config: ["operationsApi.network.headersTimeout": "1500", "operationsApi.network.keepAliveTimeout": "1500"]) { node in
                // One byte of headers every 200 ms: the headers never finish within 1.5 s.
                let slow = try RawHTTP(port: node.port)
                let started = Date()
                var cut = false
                for b in Array("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ".utf8) + [UInt8](repeating: 0x61, count: 100) {
                    if !slow.send([b]) { cut = true; break }
                    try await Task.sleep(for: .milliseconds(200))
                    if slow.read(timeout: 0.01).closed { cut = true; break }
                }
                #expect(cut, "a client sending a byte every 200 ms must be cut off")
                #expect(Date().timeIntervalSince(started) < 6)
                // An idle keep-alive connection is closed after its time.
                let idle = try RawHTTP(port: node.port)
                #expect(idle.send(RawHTTP.post(Self.describe, authorization: TestNode.basic(node.adminUser, node.adminPassword))))
                #expect(idle.read(timeout: 5).text.hasPrefix("HTTP/1.1 200"))
                #expect(idle.read(timeout: 5).closed, "an idle connection must be closed")
            }
        }

        @Test func connectionsOverTheCapGetA503() async throws {
            try await withNode(config: ["operationsApi.network.maxConnections": "4"]) { node in
                var held: [RawHTTP] = []
                var refused: String?
                for _ in 0..<8 {
                    let c = try RawHTTP(port: node.port)
                    #expect(c.send(RawHTTP.post(Self.describe, authorization: TestNode.basic(node.adminUser, node.adminPassword))))
                    let r = c.read(timeout: 5).text
                    if r.hasPrefix("HTTP/1.1 503") { refused = r; break }
                    #expect(r.hasPrefix("HTTP/1.1 200"), "\(r.prefix(200))")
                    held.append(c)
                }
                let text = try #require(refused, "no connection was refused with 8 open and a cap of 4")
                #expect(text.contains("too many connections") && text.lowercased().contains("retry-after"))
                #expect(held.count <= 4)
                held.removeAll()
                #expect(await eventually(timeout: 5) { try await node.post(["operation": "describe_all"]).status == 200 })
            }
        }

        @Test func attributesPerTableAreCapped() async throws {
            try await withNode(config: ["storage.maxAttributesPerTable": "10"]) { node in
                try await node.freshTable("cap", "t")
                var wide: [String: JSON] = ["id": 1]
                for i in 0..<12 { wide["a\(i)"] = JSON(i) }
                let r = try await node.post(["operation": "insert", "database": "cap", "table": "t", "records": [.object(wide)]])
                #expect(r.status == 400 && r.json["error"]?.stringValue?.contains("storage.maxAttributesPerTable") == true, "\(r)")
                #expect(try await node.byID("cap", "t", [1]).isEmpty)
                _ = try await node.insert("cap", "t", [["id": 2, "name": "fits"]])
            }
        }

        static func rssKB(_ pid: Int32) throws -> Int {
            let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
            let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
            return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
        }
    }
}
