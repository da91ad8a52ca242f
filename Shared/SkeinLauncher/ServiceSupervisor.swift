import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Starts and stops the services of a local cluster's nodes, each recorded in its pid file
/// (`NODE/pids/SERVICE.pid`), so any later `skein` invocation finds and signals it.
public struct ServiceSupervisor: Sendable {
    public let layout: ClusterLayout
    public let binDir: String
    /// Environment variables for the launcher only, never passed to a service (whose config
    /// loader reads `SKEIN_*` overrides).
    static let launcherVariables: Set<String> = ["SKEIN_CLUSTER_DIR", "SKEIN_SKIP_BUILD", "SKEIN_BIN_DIR", "SKEIN_BASE_PORT"]

    public init(layout: ClusterLayout, binDir: String) {
        self.layout = layout
        self.binDir = binDir
    }

    /// The pid of `service` on `node` when it is running.
    public func runningPid(_ node: String, _ service: NodeService) -> pid_t? {
        guard let text = try? String(contentsOfFile: layout.pidFile(node, service), encoding: .utf8),
              let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)),
              DetachedProcess.isRunning(pid, matching: commandLine(node, service)) else { return nil }
        return pid
    }

    /// What a service's command line holds: its binary and config. A pid reused by another
    /// program, or by the same service of another cluster, is not taken for this one.
    func commandLine(_ node: String, _ service: NodeService) -> String {
        "\(service.binaryName) --config \(layout.configFile(node))"
    }

    /// Checks every service binary is in `binDir`.
    public func checkBinaries() throws {
        if let binary = Self.missingBinaries(in: binDir).first {
            throw LauncherError("missing \(binDir)/\(binary) (build it: swift build, or set SKEIN_BIN_DIR)")
        }
    }

    /// The service binaries (`skein-store`, ...) that `dir` lacks, in start order.
    public static func missingBinaries(in dir: String) -> [String] {
        NodeService.allCases.map(\.binaryName).filter { !FileManager.default.isExecutableFile(atPath: "\(dir)/\($0)") }
    }

    /// Starts `service` on `node` with its config unless it runs; returns its pid and
    /// whether this call started it.
    @discardableResult
    public func start(_ node: String, _ service: NodeService) throws -> (pid: pid_t, started: Bool) {
        if let pid = runningPid(node, service) { return (pid, false) }
        let config = layout.configFile(node)
        guard FileManager.default.fileExists(atPath: config) else { throw LauncherError("missing \(config) (run: skein cluster up)") }
        for dir in [layout.logDir(node), layout.nodeDir(node) + "/pids"] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        let launch = ServiceLaunch(service, binDir: binDir, config: config)
        let pid = try DetachedProcess.spawn(launch.executable, arguments: launch.arguments,
                                            environment: ServiceEnvironment.inherited(excluding: Self.launcherVariables),
                                            output: layout.outputFile(node, service))
        try "\(pid)\n".write(toFile: layout.pidFile(node, service), atomically: true, encoding: .utf8)
        return (pid, true)
    }

    /// Signals the running services among `targets`, one tier at a time in stop order (all
    /// nodes' gateways together, then ...), waits `grace` seconds per tier before SIGKILL,
    /// and removes their pid files. Returns a line per process signalled or killed.
    public func stop(_ targets: [(node: String, service: NodeService)], signal: Int32, grace: Double) -> [String] {
        var lines: [String] = []
        for service in NodeService.stopOrder {
            let tier = targets.filter { $0.service == service }
            let running = tier.compactMap { target in runningPid(target.node, service).map { (target.node, $0) } }
            for (node, pid) in running { lines.append("sent \(Self.signalName(signal)) to \(node) \(service.rawValue) (pid \(pid))") }
            let killed = DetachedProcess.stop(running.map { (pid: $0.1, matching: commandLine($0.0, service)) }, signal: signal, grace: grace)
            for (node, pid) in running where killed.contains(pid) {
                lines.append("\(node) \(service.rawValue) (pid \(pid)) still running after \(Int(grace)) s: SIGKILL")
            }
            for target in tier { try? FileManager.default.removeItem(atPath: layout.pidFile(target.node, service)) }
        }
        return lines
    }

    static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGTERM: "SIGTERM"
        case SIGKILL: "SIGKILL"
        default: "signal \(signal)"
        }
    }
}
