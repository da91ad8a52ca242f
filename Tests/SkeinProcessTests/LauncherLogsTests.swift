import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

extension ProcessTests {
    /// `skein cluster logs` on a one-node cluster: the log and the output file as they are,
    /// `-f` printing what the gateway appends after it started until a signal ends it, and
    /// wrong names refused with a message.
    @Suite(.serialized) struct LauncherLogsTests {
        @Test func logsPrintsAndFollowsAServiceLog() async throws {
            let cli = try LauncherCLI.make()
            defer { cli.tearDown() }
            try cli.ok("cluster", "up", "--nodes", "1", "--first-address", LauncherCLI.unusedFirstAddress())
            // Without -f: the file's text, then it ends (the file only grows meanwhile).
            for (flags, file) in [([], "gateway.log"), (["--output"], "gateway.out")] {
                let printed = try cli.ok(["cluster", "logs", "node-a", "gateway"] + flags)
                let text = try String(contentsOfFile: cli.clusterDir + "/node-a/log/" + file, encoding: .utf8)
                #expect(printed.contains("gateway listening") && text.hasPrefix(printed), "\(file): \(printed)")
            }

            for sig in [SIGINT, SIGTERM] {
                let log = cli.clusterDir + "/node-a/log/gateway.log"
                let existing = try String(contentsOfFile: log, encoding: .utf8)
                let follow = try BackgroundCommand(cli, ["cluster", "logs", "node-a", "gateway", "-f"])
                defer { follow.end() }
                _ = try await pollUntil("logs -f to print the log so far") { follow.output.hasPrefix(existing) ? true : nil }
                // The gateway stopped and started again appends its lines, after -f started.
                try cli.ok("cluster", "stop", "node-a", "gateway")
                try cli.ok("cluster", "start", "node-a", "gateway")
                _ = try await pollUntil("logs -f to print the lines appended by a restart") { () -> Bool? in
                    let appended = follow.output.dropFirst(existing.count)
                    return appended.contains("\"gateway stopped\"") && appended.contains("\"gateway listening\"") ? true : nil
                }
                #expect(follow.process.isRunning, "logs -f ended by itself: \(follow.output)")
                #expect(try await follow.interrupt(sig), "logs -f still running 20 s after signal \(sig)")
            }

            let unknownNode = try cli.run(["cluster", "logs", "node-z", "gateway"])
            #expect(unknownNode.status != 0 && unknownNode.output.contains("unknown node 'node-z' (nodes: node-a)"), "\(unknownNode)")
            let unknownService = try cli.run(["cluster", "logs", "node-a", "nosuch", "-f"])
            #expect(unknownService.status != 0 && unknownService.output.contains("The value 'nosuch' is invalid for '<service>'. Please provide one of 'store', 'auditd', 'gateway' or 'replicator'"), "\(unknownService)")
        }
    }
}
