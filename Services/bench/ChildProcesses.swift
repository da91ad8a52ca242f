import Foundation

/// Every process the benchmark starts, so that none outlives it: stopped on SIGINT/SIGTERM
/// and when the time limit passes (then the benchmark exits 1), and started under
/// `setpriv --pdeathsig TERM` so that even a crash of the benchmark stops them. Spawn only
/// from the main thread: the death signal follows the thread that spawned.
final class ChildProcesses: @unchecked Sendable {
    static let shared = ChildProcesses()
    private let lock = NSLock()
    private var running: [Process] = []
    private var scratch: [String] = []
    private var signalSources: [any DispatchSourceSignal] = []
    private var watchdog: (any DispatchSourceTimer)?
    private let setpriv = FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")

    /// Stops every child and exits on SIGINT, SIGTERM, or after `limitSeconds`.
    func installGuards(limitSeconds: Int) {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [self] in abort("signal \(sig)", status: 128 + sig) }
            source.resume()
            signalSources.append(source)
        }
        let timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + .seconds(limitSeconds))
        timer.setEventHandler { [self] in abort("time limit of \(limitSeconds) s reached", status: 1) }
        timer.resume()
        watchdog = timer
    }

    private func abort(_ why: String, status: Int32) {
        print("skein-bench: \(why): stopping every process it started")
        stopAll()
        lock.lock()
        let dirs = scratch
        lock.unlock()
        if ProcessInfo.processInfo.environment["SKEIN_BENCH_KEEP"] == nil {
            for dir in dirs { try? FileManager.default.removeItem(atPath: dir) }
        }
        exit(status)
    }

    /// A directory to delete when the benchmark is stopped by a signal or its time limit.
    func removeOnAbort(_ dir: String) {
        lock.lock()
        scratch.append(dir)
        lock.unlock()
    }

    func spawn(_ executable: String, _ arguments: [String], environment: [String: String], output: String) throws -> Process {
        let p = Process()
        if setpriv {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            p.arguments = ["--pdeathsig", "TERM", "--", executable] + arguments
        } else {
            p.executableURL = URL(fileURLWithPath: executable)
            p.arguments = arguments
        }
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let out = FileHandle(forWritingAtPath: output)
        p.standardOutput = out
        p.standardError = out
        p.standardInput = FileHandle.nullDevice
        lock.lock()
        defer { lock.unlock() }
        try p.run()
        running.append(p)
        return p
    }

    /// SIGTERM, SIGKILL after `grace` seconds; returns once it exited.
    func stop(_ p: Process, grace: Double) {
        if p.isRunning {
            p.terminate()
            let deadline = Date().addingTimeInterval(grace)
            while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
            p.waitUntilExit()
        }
        lock.lock()
        running.removeAll { $0 === p }
        lock.unlock()
    }

    func stopAll() {
        lock.lock()
        let all = running
        lock.unlock()
        for p in all where p.isRunning { p.terminate() }
        for p in all { stop(p, grace: 10) }
    }
}
