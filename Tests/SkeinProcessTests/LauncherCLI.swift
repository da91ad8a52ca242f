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

    static let skein = TestNode.binDir + "/skein"

    /// node-a's address for a new cluster: 127.R.S.1, R and S random, so the cluster meets no
    /// other test's or developer's (`make up` takes 127.0.0.1).
    static func unusedFirstAddress() -> String {
        "127.\(Int.random(in: 100...199)).\(Int.random(in: 1...250)).1"
    }

    /// `cluster down`, then the directory gone: a test's teardown, whatever it left running.
    func tearDown() {
        _ = try? run(["cluster", "down"])
        try? FileManager.default.removeItem(atPath: clusterDir)
    }

    /// What a command runs with: this process's environment less its `SKEIN_*` variables,
    /// this cluster directory and the test's binaries, then `adding` (which reaches the
    /// services it starts), less the variables named in `without`.
    func environment(adding: [String: String] = [:], without: [String] = []) -> [String: String] {
        ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SKEIN_") }
            .merging(["SKEIN_CLUSTER_DIR": clusterDir, "SKEIN_SKIP_BUILD": "1", "SKEIN_BIN_DIR": TestNode.binDir]) { $1 }
            .merging(adding) { $1 }
            .filter { !without.contains($0.key) }
    }

    /// Runs `skein ARGUMENTS` (or another `executable` in the same environment) to its end:
    /// exit status and output (stdout and stderr). `environment` adds variables and
    /// `without` removes some (see `environment(adding:without:)`).
    @discardableResult
    func run(_ arguments: [String], environment: [String: String] = [:], without: [String] = [],
             executable: String = skein) throws -> (status: Int32, output: String) {
        let process = Process(), pipe = Pipe()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = self.environment(adding: environment, without: without)
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

    /// What bash offers on Tab at the end of `line` ("skein ..."), through the script
    /// `skein --generate-completion-script bash` prints, as an interactive shell would use it.
    func complete(_ line: String) throws -> [String] {
        let script = clusterDir + "/skein.bash"
        try ok("--generate-completion-script", "bash").write(toFile: script, atomically: true, encoding: .utf8)
        let program = #"""
            source "$1"; COMP_LINE=$2; COMP_POINT=${#COMP_LINE}
            read -ra COMP_WORDS <<< "$COMP_LINE"; [[ $COMP_LINE == *' ' ]] && COMP_WORDS+=('')
            COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMP_WORDS[0]=$3
            _skein skein "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"; printf '%s\n' "${COMPREPLY[@]}"
            """#
        let (status, output) = try run(["-c", program, "bash", script, line, Self.skein], executable: "/bin/bash")
        guard status == 0 else { throw NodeError("completing '\(line)' exited \(status):\n\(output)") }
        return output.split(separator: "\n").map(String.init).sorted()
    }

    /// `cluster.json` as the launcher last wrote it.
    func manifest() throws -> JSON {
        try JSON.parse(Array(try Data(contentsOf: URL(fileURLWithPath: clusterDir + "/cluster.json"))))
    }
}
