import ArgumentParser
import Foundation
import SkeinLauncher

/// Prints a service's log (JSON lines, docs/INTERFACES.md §3) or, with `--output`, what it
/// printed to stdout and stderr; `-f` keeps following it (through rotation) with `tail -F`.
struct ClusterLogs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "Print a service's log; -f follows it.")

    @Argument(help: "node-a, node-b, ...", completion: .clusterNodes)
    var node: String

    @Argument(help: "One of: store, auditd, gateway, replicator.")
    var service: NodeService

    @Flag(name: .shortAndLong, help: "Keep printing what is appended.")
    var follow = false

    @Flag(help: "The service's standard output and error (SERVICE.out) instead of its log.")
    var output = false

    func run() async throws {
        let cluster = LauncherEnvironment().cluster()
        try cluster.check(node: node)
        let path = output ? cluster.layout.outputFile(node, service) : cluster.layout.logFile(node, service)
        if follow { try Exec.replace(with: "/usr/bin/tail", ["-n", "+1", "-F", path]) }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw LauncherError("no \(path) yet") }
        while let chunk = try handle.read(upToCount: 1 << 16), !chunk.isEmpty {
            FileHandle.standardOutput.write(chunk)
        }
    }
}
