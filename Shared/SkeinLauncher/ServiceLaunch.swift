import Foundation

/// How one service process of a node is started, the same for a local cluster's, a test's
/// and the benchmark's nodes: `BINDIR/skein-SERVICE --config CONFIG`. With a umask, a shell
/// sets it and execs the service (same pid, the service's own command line once it runs).
public struct ServiceLaunch: Sendable, Equatable {
    public let executable: String
    public let arguments: [String]

    public init(_ service: NodeService, binDir: String, config: String, umask: String? = nil) {
        let binary = "\(binDir)/\(service.binaryName)"
        guard let umask else {
            executable = binary
            arguments = ["--config", config]
            return
        }
        executable = "/bin/sh"
        arguments = ["-c", "umask \(umask) && exec \"$0\" \"$@\"", binary, "--config", config]
    }

    /// The directory of the running program: the service binaries are built next to the
    /// test bundle, the benchmark and `skein` (`.build/debug`).
    public static var programDirectory: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).resolvingSymlinksInPath().deletingLastPathComponent().path
    }
}

/// The environment a service starts with. Its config loader reads `SKEIN_*` (and Harper's
/// `HDB_*`) variables as overrides, so who starts it decides which of ours pass on.
public enum ServiceEnvironment {
    /// Ours without `launcherVariables`: a user's overrides (`SKEIN_LOGGING_LEVEL=debug
    /// skein cluster up`) reach the services, the launcher's own settings do not.
    public static func inherited(excluding launcherVariables: Set<String>) -> [String: String] {
        ProcessInfo.processInfo.environment.filter { !launcherVariables.contains($0.key) }
    }

    /// Ours without any override: the service reads only its config file (a test's node must
    /// not change with the environment the tests run in).
    public static var configFileOnly: [String: String] {
        ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SKEIN_") && !$0.key.hasPrefix("HDB_") }
    }
}
