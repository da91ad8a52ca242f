import Foundation
import SkeinCore
import SkeinLauncher
import Testing

extension ProcessTests {
    /// docs/INTERFACES.md §1: each service exits 2 with a one-line error naming the key when
    /// its configuration is invalid. No node is started.
    @Suite struct Configuration {
        struct BadConfig: Sendable, CustomTestStringConvertible {
            let key: String
            let yaml: String
            var environment: [String: String] = [:]
            var testDescription: String { key + (environment.isEmpty ? "" : " (env)") }
        }

        static let cases: [BadConfig] = [
            BadConfig(key: "rootPath", yaml: "logging:\n  level: info\n"),
            BadConfig(key: "logging.level", yaml: "rootPath: ROOT\nlogging:\n  level: loud\n"),
            BadConfig(key: "operationsApi.network.port", yaml: "rootPath: ROOT\noperationsApi:\n  network:\n    port: 70000\n"),
            BadConfig(key: "logging.auditRetention", yaml: "rootPath: ROOT\nlogging:\n  auditRetention: forever\n"),
            BadConfig(key: "logging.maxSize", yaml: "rootPath: ROOT\nlogging:\n  maxSize: huge\n"),
            BadConfig(key: "services.timeoutMs", yaml: "rootPath: ROOT\nservices:\n  timeoutMs: 0\n"),
            BadConfig(key: "logging.level", yaml: "rootPath: ROOT\n", environment: ["SKEIN_LOGGING_LEVEL": "shouting"]),
            // A tcp:// endpoint without the node's CURVE keys (docs/INTERFACES.md §5), keys
            // that are not a pair, a key file that is not there.
            BadConfig(key: "services.curve.secretKey", yaml: "rootPath: ROOT\nservices:\n  store: tcp://127.0.0.1:7001\n"),
            BadConfig(key: "services.curve.secretKey", yaml: "rootPath: ROOT\n", environment: ["SKEIN_SERVICES_AUDITD": "tcp://127.0.0.1:7003"]),
            BadConfig(key: "services.curve.publicKey", yaml: "rootPath: ROOT\nservices:\n  curve:\n    publicKey: \"\(Z85.encode([UInt8](repeating: 1, count: 32)))\"\n"
                      + "    secretKey: \"\(Z85.encode([UInt8](repeating: 2, count: 32)))\"\n"),
            BadConfig(key: "services.curve.keyFile", yaml: "rootPath: ROOT\nservices:\n  curve:\n    keyFile: ROOT/none\n"),
        ]

        /// Runs a service to its exit (10 s at most); returns the status and its stderr.
        static func run(_ service: Service, config: String, environment: [String: String]) async throws -> (Int32, String) {
            // As a node's service starts (the launcher's), but with its stderr alone in the file.
            let launch = ServiceLaunch(service, binDir: TestNode.binDir, config: config)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: launch.executable)
            p.arguments = launch.arguments
            p.environment = ServiceEnvironment.configFileOnly.merging(environment) { $1 }
            let errPath = config + ".\(service.rawValue).err"
            _ = FileManager.default.createFile(atPath: errPath, contents: nil)
            let err = try #require(FileHandle(forWritingAtPath: errPath))
            defer { try? err.close() }
            p.standardError = err
            p.standardOutput = FileHandle.nullDevice
            p.standardInput = FileHandle.nullDevice
            try p.run()
            let deadline = Date().addingTimeInterval(10)
            while p.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
            if p.isRunning {
                p.terminate()
                p.waitUntilExit()
                return (-1, "still running")
            }
            return (p.terminationStatus, (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
        }

        @Test(arguments: cases)
        func invalidConfigExits2NamingTheKey(_ c: BadConfig) async throws {
            let root = "/tmp/skt-cfg" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: root) }
            let config = root + "/config.yaml"
            try c.yaml.replacingOccurrences(of: "ROOT", with: root).write(toFile: config, atomically: true, encoding: .utf8)
            for service in Service.allCases {
                let (status, stderr) = try await Self.run(service, config: config, environment: c.environment)
                #expect(status == 2, "\(service.rawValue): exit \(status), \(stderr)")
                #expect(stderr.contains(c.key), "\(service.rawValue) does not name \(c.key): \(stderr)")
                #expect(stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count == 1,
                        "\(service.rawValue): not one line: \(stderr)")
            }
        }

        @Test func missingConfigFileExits2() async throws {
            let root = "/tmp/skt-cfg" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: root) }
            for service in Service.allCases {
                let (status, stderr) = try await Self.run(service, config: root + "/none.yaml", environment: [:])
                #expect(status == 2, "\(service.rawValue): exit \(status), \(stderr)")
            }
        }
    }
}
