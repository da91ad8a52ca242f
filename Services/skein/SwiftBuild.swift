import Foundation
import SkeinLauncher

/// `swift build` in the checkout, its output passed through to the terminal.
struct SwiftBuild {
    let root: String

    func run(_ arguments: [String]) throws {
        let status = try swift(["build"] + arguments, output: nil)
        guard status.code == 0 else { throw LauncherError("swift build \(arguments.joined(separator: " ")) failed (\(status.code))") }
    }

    func binPath(_ arguments: [String]) throws -> String {
        let status = try swift(["build"] + arguments + ["--show-bin-path"], output: Pipe())
        let path = String(decoding: status.output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard status.code == 0, !path.isEmpty else { throw LauncherError("swift build --show-bin-path failed") }
        return path
    }

    private func swift(_ arguments: [String], output: Pipe?) throws -> (code: Int32, output: Data) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["swift"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: root)
        // The toolchain's usual home, for shells whose PATH lacks it (as compose/local did).
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = (environment["PATH"] ?? "/usr/bin:/bin") + ":/opt/swift/usr/bin"
        process.environment = environment
        if let output { process.standardOutput = output }
        try process.run()
        let data = output?.fileHandleForReading.readDataToEndOfFile() ?? Data()
        process.waitUntilExit()
        return (process.terminationStatus, data)
    }
}
