import Foundation
import SkeinCore

/// The built `skein` command line, run against one cluster directory with the test's
/// binaries (`SKEIN_SKIP_BUILD=1`, `SKEIN_BIN_DIR`), as a person at a shell would run it.
struct LauncherCLI {
    let clusterDir: String

    /// A fresh short directory (ipc:// socket paths are limited to ~107 bytes).
    static func make() throws -> LauncherCLI {
        let dir = "/tmp/skl-" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return LauncherCLI(clusterDir: dir)
    }

    /// Runs `skein ARGUMENTS` to its end: exit status and output (stdout and stderr).
    /// `environment` adds variables (which reach the services it starts).
    @discardableResult
    func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let process = Process(), pipe = Pipe()
        process.executableURL = URL(fileURLWithPath: TestNode.binDir + "/skein")
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SKEIN_") }
            .merging(["SKEIN_CLUSTER_DIR": clusterDir, "SKEIN_SKIP_BUILD": "1", "SKEIN_BIN_DIR": TestNode.binDir]) { $1 }
            .merging(environment) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// `run`, throwing with the output when the command fails.
    @discardableResult
    func ok(_ arguments: String...) throws -> String {
        try ok(arguments)
    }

    @discardableResult
    func ok(_ arguments: [String]) throws -> String {
        let (status, output) = try run(arguments)
        guard status == 0 else { throw NodeError("skein \(arguments.joined(separator: " ")) exited \(status):\n\(output)") }
        return output
    }

    /// `cluster.json` as the launcher last wrote it.
    func manifest() throws -> JSON {
        try JSON.parse(Array(try Data(contentsOf: URL(fileURLWithPath: clusterDir + "/cluster.json"))))
    }
}
