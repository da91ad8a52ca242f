import Foundation
import SkeinLauncher

/// What keeps the benchmark from leaving anything behind: every process it starts belongs
/// to `processes` (the launcher library's `ChildProcessGroup`: none outlives the
/// benchmark, even a crashed one), stopped on SIGINT/SIGTERM and when the time limit passes
/// (then the benchmark exits 1), together with its scratch directories. Start processes
/// only from the main thread: the death signal follows the thread that spawned.
final class BenchGuard: @unchecked Sendable {
    static let shared = BenchGuard()
    let processes = ChildProcessGroup()
    private let lock = NSLock()
    private var scratch: [String] = []
    private var signalSources: [any DispatchSourceSignal] = []
    private var watchdog: (any DispatchSourceTimer)?

    /// Stops every child and exits on SIGINT, SIGTERM, or after `limitSeconds`.
    func install(limitSeconds: Int) {
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
        processes.stopAll(grace: 10)
        if ProcessInfo.processInfo.environment["SKEIN_BENCH_KEEP"] == nil {
            for dir in lock.withLock({ scratch }) { try? FileManager.default.removeItem(atPath: dir) }
        }
        exit(status)
    }

    /// A directory to delete when the benchmark is stopped by a signal or its time limit.
    func removeOnAbort(_ dir: String) {
        lock.withLock { scratch.append(dir) }
    }
}
