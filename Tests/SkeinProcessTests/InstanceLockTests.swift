import Foundation
import Testing
import SkeinCore
import SkeinLauncher

extension ProcessTests {
    /// One process per service on a node directory (security review F18): a second store or
    /// auditd started on the same directory exits 2 and says why; the running ones go on.
    @Suite struct InstanceLocks {
        @Test func aSecondServiceOnTheSameNodeDirectoryExitsWithStatus2() async throws {
            try await withNode { node in try await Self.secondInstancesExit(node) }
        }

        static func secondInstancesExit(_ node: TestNode) async throws {
            for service in [Service.store, .auditd] {
                let launch = ServiceLaunch(service, binDir: TestNode.binDir, config: node.configPath)
                let p = Process()
                p.executableURL = URL(fileURLWithPath: launch.executable)
                p.arguments = launch.arguments
                let out = Pipe()
                p.standardOutput = out
                p.standardError = out
                try p.run()
                // Bounded: a second instance that does not stop is killed and the test fails.
                let deadline = Date().addingTimeInterval(10)
                while p.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
                if p.isRunning { p.terminate() }
                p.waitUntilExit()
                #expect(p.terminationStatus == 2, "second skein-\(service)")
                let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                #expect(text.contains("already runs on this node directory") && text.contains("\(service).lock"), "\(text)")
            }
            try await node.ok(["operation": "describe_all"])
            try await node.freshTable("lock", "t")
            _ = try await node.insert("lock", "t", [["id": 1]])
        }
    }
}
