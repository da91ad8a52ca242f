import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Child processes that must not outlive the process that started them (the benchmark's
/// nodes): each starts under `setpriv --pdeathsig TERM` where util-linux has it, so even a
/// crash of the starter stops it, and `stopAll` stops every one still running (on a signal
/// or a time limit too). Start them from one long-lived thread: the death signal follows
/// the thread that spawned, not the process.
public final class ChildProcessGroup: @unchecked Sendable {
    private let lock = NSLock()
    private var members: [ChildProcess] = []
    private static let setpriv = "/usr/bin/setpriv"
    private let stopsWithParent = FileManager.default.isExecutableFile(atPath: setpriv)

    public init() {}

    /// Starts `executable` (as `ChildProcess` does: output appended to `output`) and keeps it
    /// until it is stopped through this group.
    public func start(_ executable: String, arguments: [String], environment: [String: String], output: String) throws -> ChildProcess {
        // setpriv sets the death signal and execs the program: same pid, same command line after it.
        let (program, programArguments) = stopsWithParent
            ? (Self.setpriv, ["--pdeathsig", "TERM", "--", executable] + arguments) : (executable, arguments)
        let process = try ChildProcess(program, arguments: programArguments, environment: environment, output: output)
        lock.withLock { members.append(process) }
        return process
    }

    /// Starts a node's service as `launch` says, kept as `start` keeps it.
    public func start(_ launch: ServiceLaunch, environment: [String: String], output: String) throws -> ChildProcess {
        try start(launch.executable, arguments: launch.arguments, environment: environment, output: output)
    }

    /// SIGTERM to all of `processes` together, SIGKILL after `grace` seconds; returns once
    /// every one exited (blocking).
    public func stop(_ processes: [ChildProcess], grace: Double) {
        ChildProcess.stop(processes, grace: grace)
        lock.withLock { members.removeAll { member in processes.contains { $0 === member } } }
    }

    /// Stops every member still running, all together (blocking).
    public func stopAll(grace: Double) {
        stop(lock.withLock { members }, grace: grace)
    }
}
