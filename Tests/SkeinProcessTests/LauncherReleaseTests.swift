import Foundation
import Testing

extension ProcessTests {
    /// `skein cluster up --release` with `SKEIN_SKIP_BUILD=1` (no build: a release build is
    /// too slow for a test): it takes the services from the release build's directory of
    /// the checkout `skein` is in, here a package of its own holding a copy of `skein`.
    /// Without binaries there it names them and starts nothing; with them, it runs those.
    @Suite(.serialized) struct LauncherReleaseTests {
        @Test func upReleaseRunsTheReleaseDirectorysBinaries() async throws {
            let cli = try LauncherCLI.make()
            defer { cli.tearDown() }
            let package = cli.clusterDir + "/package", skein = package + "/bin/skein"
            try FileManager.default.createDirectory(atPath: package + "/bin", withIntermediateDirectories: true)
            try "// swift-tools-version:6.1\nimport PackageDescription\nlet package = Package(name: \"empty\")\n"
                .write(toFile: package + "/Package.swift", atomically: true, encoding: .utf8)
            try FileManager.default.linkItem(atPath: LauncherCLI.skein, toPath: skein)
            let up = ["cluster", "up", "--release", "--nodes", "1", "--first-address", LauncherCLI.unusedFirstAddress()]

            let (status, output) = try cli.run(up, without: ["SKEIN_BIN_DIR"], executable: skein)
            #expect(status != 0, "\(output)")
            #expect(!output.contains("building"), "it built: \(output)")
            let named = try #require(output.range(of: "no release binaries in ").map { output[$0.upperBound...] }, "\(output)")
            let releaseDir = String(named.prefix { $0 != ":" })
            #expect(releaseDir.hasPrefix(package + "/.build/") && releaseDir.hasSuffix("/release"), "\(output)")
            #expect(output.contains(": missing skein-store, skein-auditd, skein-gateway, skein-replicator"), "\(output)")
            #expect(output.contains("swift build -c release"), "\(output)")
            #expect(!FileManager.default.fileExists(atPath: cli.clusterDir + "/node-a"), "a node was made: \(output)")

            // The test's binaries where a release build would have put them: up runs those.
            try FileManager.default.createDirectory(atPath: releaseDir, withIntermediateDirectories: true)
            for service in ["store", "auditd", "gateway", "replicator"] {
                try FileManager.default.createSymbolicLink(atPath: releaseDir + "/skein-" + service, withDestinationPath: TestNode.binDir + "/skein-" + service)
            }
            let started = try cli.run(up, without: ["SKEIN_BIN_DIR"], executable: skein)
            #expect(started.status == 0 && started.output.contains("release binaries: " + releaseDir), "\(started)")
            #expect(try String(contentsOfFile: cli.clusterDir + "/bin-dir", encoding: .utf8) == releaseDir + "\n")
            let gateway = try #require(try cli.manifest()["nodes"]?.arrayValue?.first?["services"]?["gateway"]?.intValue)
            let commandLine = String(decoding: FileManager.default.contents(atPath: "/proc/\(gateway)/cmdline") ?? Data(), as: UTF8.self)
            #expect(commandLine.hasPrefix(releaseDir + "/skein-gateway"), "\(commandLine)")
        }
    }
}
