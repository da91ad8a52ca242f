import ArgumentParser
import SkeinLauncher

/// `skein bench ARGS...`: skein-bench from the same binaries (`SKEIN_BIN_DIR`, or beside
/// this one), with the arguments as given (`skein bench cluster --copy-records 1000`).
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run skein-bench with these arguments (see skein bench --help).")

    @Argument(parsing: .captureForPassthrough, help: "skein-bench's arguments.")
    var arguments: [String] = []

    func run() async throws {
        let environment = LauncherEnvironment()
        let binDir = environment.variables["SKEIN_BIN_DIR"] ?? environment.ownDirectory
        try Exec.replace(with: "\(binDir)/skein-bench", arguments)
    }
}
