import Foundation
#if canImport(Glibc)
import Glibc
#endif
import SkeinCore
import Testing

extension ProcessTests {
    /// The benchmark starts its nodes through the launcher library (`ChildProcessGroup`), so
    /// none outlives it: a SIGTERM stops them and removes their directory before it exits,
    /// and a SIGKILL, which it cannot handle, stops them through their death signal.
    @Suite(.serialized) struct BenchProcessTests {
        @Test func aBenchmarkStoppedWithSIGTERMStopsItsNodeAndRemovesItsDirectory() async throws {
            let bench = try RunningBench()
            defer { bench.cleanUp() }
            let services = try await bench.services()
            let root = try bench.nodeRoot(of: services)
            kill(bench.process.processIdentifier, SIGTERM)
            bench.process.waitUntilExit()
            #expect(bench.process.terminationStatus == 128 + SIGTERM, "\(bench.output)")
            #expect(bench.output.contains("stopping every process it started"), "\(bench.output)")
            for (name, pid) in services { #expect(!RunningBench.isAlive(pid), "\(name) (pid \(pid)) still running") }
            #expect(!FileManager.default.fileExists(atPath: root), "\(root) is left")
        }

        @Test func aBenchmarkKilledWithSIGKILLLeavesNoServiceRunning() async throws {
            let bench = try RunningBench()
            defer { bench.cleanUp() }
            let services = try await bench.services()
            kill(bench.process.processIdentifier, SIGKILL)
            bench.process.waitUntilExit()
            _ = try await pollUntil("the benchmark's services to exit after it was killed", timeout: 20) {
                services.values.contains(where: RunningBench.isAlive) ? nil : true
            }
        }
    }
}

extension ProcessTests.BenchProcessTests {
    /// Both benchmarks, on loads small enough for a test, end with their figures drawn:
    /// each `figure: PATH` line names a PNG gnuplot wrote (beside its `.tsv` numbers), and
    /// the last line is the JSON summary.
    @Test(arguments: [
        (["--records", "1600", "--clients", "2"], ["bench-throughput"], "skein-single-node-insert"),
        (["cluster", "--records", "1600", "--copy-records", "2000", "--catchup-records", "2000", "--lag-seconds", "1", "--clients", "2"],
         ["cluster-throughput", "cluster-lag", "cluster-copy"], "skein-cluster-replication"),
    ])
    func theBenchmarksDrawTheirFigures(arguments: [String], figures: [String], benchmark: String) async throws {
        let out = "/tmp/skt-figures-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: out) }
        let bench = try RunningBench(arguments: arguments, figures: out)
        defer { bench.cleanUp() }
        _ = try await pollUntil("the benchmark to finish", timeout: 240) { bench.process.isRunning ? nil : true }
        #expect(bench.process.terminationStatus == 0, "\(bench.output)")
        for figure in figures {
            let png = out + "/" + figure + ".png"
            #expect(bench.output.contains("figure: " + png), "\(bench.output)")
            let bytes = try #require(FileManager.default.contents(atPath: png), "no \(png)")
            #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) && bytes.count > 1_000, "\(png) is not a drawn PNG")
            let numbers = (try? String(contentsOfFile: out + "/" + figure + ".tsv", encoding: .utf8)) ?? ""
            let holdsNumbers = numbers.contains { $0.isNumber }
            #expect(holdsNumbers, "\(figure).tsv holds no figures")
        }
        let last = bench.output.split(separator: "\n").last.map(String.init) ?? ""
        let summary = try JSON.parse(last)
        #expect(summary["benchmark"]?.stringValue == benchmark, "\(last)")
        if benchmark == "skein-single-node-insert" {
            // The range queries on a table being written answered (each must be 200).
            #expect((summary["sql_range_while_writing_queries"]?.intValue ?? 0) >= 1, "\(last)")
            #expect((summary["sql_range_while_writing_p99_ms"]?.doubleValue ?? 0) > 0, "\(last)")
        }
    }
}

/// `skein-bench` from the test's binaries (by default with a load far too long to finish),
/// its output in a file.
private final class RunningBench: @unchecked Sendable {
    let process = Process()
    let outputFile = "/tmp/skt-bench-\(UInt32.random(in: 0...UInt32.max)).out"
    /// The services `services()` found, killed by `cleanUp` if still running.
    private var found: [String: Int32] = [:]

    init(arguments: [String] = ["--records", "400000", "--clients", "2", "--port", String(TestNode.freePort())],
         figures: String = NSTemporaryDirectory()) throws {
        FileManager.default.createFile(atPath: outputFile, contents: nil)
        process.executableURL = URL(fileURLWithPath: TestNode.binDir + "/skein-bench")
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SKEIN_") }
            .merging(["SKEIN_BENCH_OUT": figures]) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: outputFile)
        process.standardError = process.standardOutput
        try process.run()
    }

    var output: String { (try? String(contentsOfFile: outputFile, encoding: .utf8)) ?? "" }

    /// The benchmark's store, auditd and gateway (its children by their command lines),
    /// once all three run.
    func services() async throws -> [String: Int32] {
        let services = try await pollUntil("the benchmark's node to start", timeout: 30) { () -> [String: Int32]? in
            var found: [String: Int32] = [:]
            for (pid, commandLine) in Self.children(of: process.processIdentifier) {
                for service in ["store", "auditd", "gateway"] where commandLine.hasPrefix(TestNode.binDir + "/skein-\(service) ") {
                    found[service] = pid
                }
            }
            return found.count == 3 ? found : nil
        }
        found = services
        return services
    }

    /// The node's directory, from the `--config ROOT/config.yaml` its services were given.
    func nodeRoot(of services: [String: Int32]) throws -> String {
        let line = try #require(Self.commandLine(services["store"] ?? 0), "no command line of the store")
        let config = try #require(line.split(separator: " ").last.map(String.init))
        return (config as NSString).deletingLastPathComponent
    }

    /// Processes whose parent is `parent`: pid and command line (arguments joined by spaces).
    static func children(of parent: Int32) -> [(Int32, String)] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).compactMap { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            // After the command name: state, then the parent's pid.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 1, Int32(fields[1]) == parent, let line = commandLine(pid) else { return nil }
            return (pid, line)
        }
    }

    static func commandLine(_ pid: Int32) -> String? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !data.isEmpty else { return nil }
        return String(decoding: data.dropLast().map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
    }

    /// Running: a zombie (exited, not yet reaped by its new parent) has no command line.
    static func isAlive(_ pid: Int32) -> Bool { commandLine(pid) != nil }

    func cleanUp() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        for pid in found.values where Self.isAlive(pid) { kill(pid, SIGKILL) }
        try? FileManager.default.removeItem(atPath: outputFile)
    }
}
