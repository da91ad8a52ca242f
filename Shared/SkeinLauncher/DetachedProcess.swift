import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Service processes started with `posix_spawn`: standard input from /dev/null, output
/// appended to a file, and no other descriptor of ours (a caller reading our output to its
/// end must not wait for a service that inherited the pipe). Those of a local cluster
/// outlive the launcher in a process group of their own (`detached`: a Ctrl-C at the
/// launcher does not reach them); a test's stay in its group, so a Ctrl-C stops them too.
public enum DetachedProcess {
    public static func spawn(_ executable: String, arguments: [String], environment: [String: String], output: String,
                             detached: Bool = true) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16((detached ? POSIX_SPAWN_SETPGROUP : 0) | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var noSignals = sigset_t(), allSignals = sigset_t()
        sigemptyset(&noSignals)
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        closeOnExec()
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard status == 0 else { throw LauncherError("cannot start \(executable): \(String(cString: strerror(status)))") }
        return pid
    }

    /// Marks every descriptor above stderr close-on-exec, so no child inherits one (Swift's
    /// Glibc does not offer `posix_spawn_file_actions_addclosefrom_np`).
    private static func closeOnExec() {
        guard let open = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
        for fd in open.compactMap({ Int32($0) }) where fd > 2 {
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
    }

    /// Alive, with `commandLine` in its command line (pids are reused; a zombie has no command
    /// line). Reaps the process first when it is an exited child of ours.
    public static func isRunning(_ pid: pid_t, matching commandLine: String) -> Bool {
        guard pid > 0 else { return false }
        var status: Int32 = 0
        _ = waitpid(pid, &status, WNOHANG)
        guard kill(pid, 0) == 0 else { return false }
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !data.isEmpty else { return false }
        return String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).contains(commandLine)
    }

    /// Sends `signal` to each process, waits up to `grace` seconds for all to exit, then
    /// SIGKILLs and returns the ones that were still running.
    @discardableResult
    public static func stop(_ processes: [(pid: pid_t, matching: String)], signal: Int32, grace: Double) -> [pid_t] {
        let matching = Dictionary(processes.map { ($0.pid, $0.matching) }) { first, _ in first }
        return stop(processes.map(\.pid), signal: signal, grace: grace) { isRunning($0, matching: matching[$0] ?? "") }
    }

    /// Sends `signal` to each pid, waits up to `grace` seconds until `running` says none
    /// runs, then SIGKILLs the rest and waits for them; returns the pids it had to kill.
    /// Blocks the calling thread (polling every 20-50 ms).
    @discardableResult
    static func stop(_ pids: [pid_t], signal: Int32, grace: Double, running: (pid_t) -> Bool) -> [pid_t] {
        for pid in pids { kill(pid, signal) }
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int(grace * 1000)))
        var alive = pids
        while true {
            alive = alive.filter(running)
            if alive.isEmpty || ContinuousClock.now >= deadline { break }
            usleep(50_000)
        }
        for pid in alive { kill(pid, SIGKILL) }
        for pid in alive { while running(pid) { usleep(20_000) } }
        return alive
    }
}
