import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A service process this process started and waits for itself (a test's node), unlike a
/// local cluster's, which later `skein` invocations find through pid files: it keeps the
/// exit status, which tests check (a clean SIGTERM shutdown exits 0).
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    private let lock = NSLock()
    private var status: Int32?

    /// Starts `executable` in the caller's process group, output appended to `output`.
    public init(_ executable: String, arguments: [String], environment: [String: String], output: String) throws {
        pid = try DetachedProcess.spawn(executable, arguments: arguments, environment: environment, output: output, detached: false)
    }

    /// Starts a node's service as `launch` says (output appended to `output`).
    public convenience init(_ launch: ServiceLaunch, environment: [String: String], output: String) throws {
        try self.init(launch.executable, arguments: launch.arguments, environment: environment, output: output)
    }

    /// Its exit code, or the number of the signal that ended it; nil while it runs.
    public var terminationStatus: Int32? {
        lock.withLock {
            if status == nil {
                var raw: Int32 = 0
                if waitpid(pid, &raw, WNOHANG) == pid { status = Self.decode(raw) }
            }
            return status
        }
    }

    public var isRunning: Bool { terminationStatus == nil }

    public func send(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// Sends `signal` and waits for the exit, SIGKILL after `grace` seconds. Returns the exit
    /// status, or nil when it had to be killed (or was not running).
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, grace: Double) async -> Int32? {
        guard isRunning else { return nil }
        kill(pid, signal)
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int(grace * 1000)))
        while isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        guard isRunning else { return terminationStatus }
        kill(pid, SIGKILL)
        while isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        return nil
    }

    /// `stop` for several at once, blocking the calling thread instead of suspending (for
    /// synchronous callers such as the benchmark): all are signalled together and get the
    /// same `grace` seconds before SIGKILL. Returns once every one has exited.
    public static func stop(_ processes: [ChildProcess], signal: Int32 = SIGTERM, grace: Double) {
        let byPid = Dictionary(processes.map { ($0.pid, $0) }) { first, _ in first }
        DetachedProcess.stop(processes.filter(\.isRunning).map(\.pid), signal: signal, grace: grace) { byPid[$0]?.isRunning ?? false }
    }

    /// The exit code of a normal exit, else the signal number (as Foundation's `Process`).
    private static func decode(_ raw: Int32) -> Int32 {
        let signal = raw & 0x7f
        return signal == 0 ? (raw >> 8) & 0xff : signal
    }
}
