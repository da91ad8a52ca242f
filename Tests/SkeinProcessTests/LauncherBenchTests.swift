import Foundation
import SkeinCore
import Testing

extension ProcessTests {
    /// `skein bench ARGS` is skein-bench with those arguments, from `SKEIN_BIN_DIR`: its
    /// output and its exit status, a bad argument's usage and status 2 included.
    @Suite(.serialized) struct LauncherBenchTests {
        @Test func benchRunsSkeinBenchWithTheArgumentsGiven() throws {
            let cli = try LauncherCLI.make()
            defer { try? FileManager.default.removeItem(atPath: cli.clusterDir) }
            let (status, output) = try cli.run(["bench", "--records", "1600", "--clients", "2", "--port", String(TestNode.freePort())],
                                               environment: ["SKEIN_BENCH_OUT": cli.clusterDir])
            #expect(status == 0, "\(output)")
            #expect(output.contains("skein-bench: 2 clients"), "\(output)")
            let last = output.split(separator: "\n").last.map(String.init) ?? ""
            #expect((try? JSON.parse(last))?["benchmark"]?.stringValue == "skein-single-node-insert", "\(last)")
            #expect(FileManager.default.fileExists(atPath: cli.clusterDir + "/bench-throughput.png"), "no figure in SKEIN_BENCH_OUT")

            let bad = try cli.run(["bench", "--records", "many"])
            #expect(bad.status == 2 && bad.output.hasPrefix("usage: "), "\(bad)")
            let elsewhere = try cli.run(["bench"], environment: ["SKEIN_BIN_DIR": cli.clusterDir + "/none"])
            #expect(elsewhere.status != 0 && elsewhere.output.contains("cannot run \(cli.clusterDir)/none/skein-bench"), "\(elsewhere)")
        }
    }
}
