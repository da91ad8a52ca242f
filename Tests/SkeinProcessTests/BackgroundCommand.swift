import Foundation
import SkeinLauncher
#if canImport(Glibc)
import Glibc
#endif

/// A `skein` command left running (as `cluster logs -f` runs until interrupted), its
/// output (stdout and stderr) in a file a test reads while it runs.
final class BackgroundCommand: @unchecked Sendable {
    let process = Process()
    let outputFile = "/tmp/skt-cmd-\(UInt32.random(in: 0...UInt32.max)).out"

    init(_ cli: LauncherCLI, _ arguments: [String]) throws {
        _ = FileManager.default.createFile(atPath: outputFile, contents: nil)
        process.executableURL = URL(fileURLWithPath: LauncherCLI.skein)
        process.arguments = arguments
        process.environment = cli.environment()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: outputFile)
        process.standardError = process.standardOutput
        try process.run()
    }

    /// What it printed so far.
    var output: String { (try? String(contentsOfFile: outputFile, encoding: .utf8)) ?? "" }

    /// Sends `sig` and waits (20 s at most) for it to end; whether it did.
    func interrupt(_ sig: Int32) async throws -> Bool {
        kill(process.processIdentifier, sig)
        let ended = try await Poll(timeout: 20, every: .milliseconds(100)).until { process.isRunning ? nil : true }
        return ended != nil
    }

    /// SIGKILL if still running, and its output file gone: a test's teardown.
    func end() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(atPath: outputFile)
    }
}
