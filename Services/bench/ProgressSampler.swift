import Foundation

/// Reads a progress figure (rows copied so far) every `interval` seconds on its own thread
/// until stopped: the samples (seconds since `start`, value) behind the copy-progress plot.
/// A read that fails (nothing to count yet) is skipped.
final class ProgressSampler: @unchecked Sendable {
    private let lock = NSLock()
    private var samples: [(seconds: Double, rows: Int)] = []
    private var stopping = false
    private let done = DispatchSemaphore(value: 0)
    private let read: @Sendable () -> Int?
    private let interval: Double
    private var begun = Date()

    init(interval: Double = 0.25, read: @escaping @Sendable () -> Int?) {
        self.interval = interval
        self.read = read
    }

    func start() {
        begun = Date()
        let begun = self.begun
        let t = Thread { [self] in
            while !lock.withLock({ stopping }) {
                if let rows = read() {
                    let seconds = Date().timeIntervalSince(begun)
                    lock.withLock { samples.append((seconds, rows)) }
                }
                Thread.sleep(forTimeInterval: interval)
            }
            done.signal()
        }
        t.start()
    }

    /// Stops sampling; returns the samples with their times counted from `origin` (the
    /// copy's start), earlier ones dropped.
    /// The last reading before `origin` counts as its value at `origin`, and one more
    /// reading is taken now: a copy shorter than the interval still shows where it started
    /// and where it ended.
    func stop(origin: Date) -> [(seconds: Double, rows: Int)] {
        lock.withLock { stopping = true }
        done.wait()
        if let rows = read() { lock.withLock { samples.append((Date().timeIntervalSince(begun), rows)) } }
        let offset = origin.timeIntervalSince(begun)
        let all = lock.withLock { samples }
        let atOrigin = all.last { $0.seconds < offset }.map { [(seconds: 0.0, rows: $0.rows)] } ?? []
        return atOrigin + all.filter { $0.seconds >= offset }.map { ($0.seconds - offset, $0.rows) }
    }
}
