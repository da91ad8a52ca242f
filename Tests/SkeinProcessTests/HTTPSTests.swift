import Foundation
import SkeinCore
import Testing

extension ProcessTests {
    /// The operations API over HTTPS on `operationsApi.network.securePort`, with the node's
    /// `tls.*` certificate, next to plain HTTP; the same users, routes and answers.
    @Suite struct HTTPS {
        /// `curl` against the HTTPS port, trusting only the test CA: (HTTP status, body).
        static func curl(_ args: [String]) throws -> (status: Int, body: String) {
            let text = try runTool("/usr/bin/curl", ["-s", "-w", "\n%{http_code}", "--max-time", "10"] + args).output
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
        }

        @Test func operationsOverHTTPS() async throws {
            let pki = try TestPKI(name: "https-ca")
            let certDir = pki.dir + "/node"
            try FileManager.default.createDirectory(atPath: certDir, withIntermediateDirectories: true)
            let tls = try pki.issue(node: "localhost", into: certDir)
            let securePort = TestNode.freePort(), secureREST = TestNode.freePort()
            var config = tls.compactMapValues(\.stringValue)
            config["operationsApi.network.securePort"] = String(securePort)
            config["http.securePort"] = String(secureREST)
            try await withNode(config: config) { node async throws in
                let url = "https://127.0.0.1:\(securePort)/"
                let auth = "\(node.adminUser):\(node.adminPassword)"
                var r: (status: Int, body: String) = (0, "")
                #expect(await eventually(timeout: 10) {
                    r = try Self.curl(["--cacert", pki.certificate, "-u", auth, "-H", "Content-Type: application/json",
                                       "-d", #"{"operation":"describe_all"}"#, url])
                    return r.status == 200
                }, "HTTPS answered \(r)")
                // Same users: a wrong password is refused there too.
                #expect(try Self.curl(["--cacert", pki.certificate, "-u", "admin:wrong", "-d", #"{"operation":"describe_all"}"#, url]).status == 401)
                // A client that does not trust the node's CA gets no answer; plain HTTP on the TLS port neither.
                #expect(try Self.curl(["-u", auth, "-d", #"{"operation":"describe_all"}"#, url]).status == 0)
                #expect(try Self.curl(["-u", auth, "-d", #"{"operation":"describe_all"}"#, "http://127.0.0.1:\(securePort)/"]).status != 200)
                // Plain HTTP keeps working on its own port.
                #expect(try await node.post(["operation": "describe_all"]).status == 200)

                // REST over HTTPS on http.securePort: the same tables and users.
                try await node.freshTable("data", "tls_dog")
                _ = try await node.insert("data", "tls_dog", [["id": 1, "name": "Secure"]])
                let rest = try Self.curl(["--cacert", pki.certificate, "-u", auth, "https://127.0.0.1:\(secureREST)/tls_dog/1"])
                #expect(rest.status == 200 && (try? JSON.parse(Array(rest.body.utf8)))?["name"] == "Secure", "\(rest)")
                #expect(try Self.curl(["--cacert", pki.certificate, "-u", "admin:wrong", "https://127.0.0.1:\(secureREST)/tls_dog/1"]).status == 401)
            }
        }

        /// Plain HTTP on a non-loopback address is announced at start (review F17).
        @Test func plainHTTPOffLoopbackIsAWarningAtStart() async throws {
            try await withNode(config: ["operationsApi.network.host": "0.0.0.0"]) { node async throws in
                #expect(try await node.post(["operation": "describe_all"]).status == 200)
                let out = try String(contentsOfFile: node.root + "/gateway.out", encoding: .utf8)
                #expect(out.contains("without HTTPS: passwords cross the network in clear text"), "\(out.suffix(500))")
            }
        }
    }
}
