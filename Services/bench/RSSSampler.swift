import Foundation

/// Samples the resident memory of groups of processes from /proc/PID/status every 50 ms
/// on its own thread and keeps each group's peak (the sum over its processes at one
/// instant): `VmRSS` (all resident pages, including LMDB's memory-mapped database file)
/// and `RssAnon` (anonymous memory: heaps, buffers).
final class RSSSampler: @unchecked Sendable {
    struct Memory {
        var resident = 0
        var anonymous = 0
        static func - (a: Memory, b: Memory) -> Memory { Memory(resident: a.resident - b.resident, anonymous: a.anonymous - b.anonymous) }
    }

    private let lock = NSLock()
    private var groups: [String: [Int32]] = [:]
    private var peaks: [String: Memory] = [:]
    private var stopping = false
    private let done = DispatchSemaphore(value: 0)

    /// Resident and anonymous bytes of one process (0 when it is gone).
    static func memory(_ pid: Int32) -> Memory {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return Memory() }
        func kilobytes(_ field: String) -> Int {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field) }) else { return 0 }
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
        }
        return Memory(resident: kilobytes("VmRSS:") * 1024, anonymous: kilobytes("RssAnon:") * 1024)
    }

    static func memory(_ pids: [Int32]) -> Memory {
        pids.map(memory).reduce(Memory()) { Memory(resident: $0.resident + $1.resident, anonymous: $0.anonymous + $1.anonymous) }
    }

    func watch(_ group: String, _ pids: [Int32]) {
        lock.lock()
        groups[group] = pids
        lock.unlock()
    }

    func start() {
        let t = Thread { [self] in
            while true {
                lock.lock()
                let current = groups
                let stop = stopping
                lock.unlock()
                if stop { break }
                for (name, pids) in current {
                    let m = Self.memory(pids)
                    lock.lock()
                    let peak = peaks[name] ?? Memory()
                    peaks[name] = Memory(resident: max(peak.resident, m.resident), anonymous: max(peak.anonymous, m.anonymous))
                    lock.unlock()
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
            done.signal()
        }
        t.start()
    }

    /// Stops sampling; returns each group's peaks.
    func stop() -> [String: Memory] {
        lock.lock()
        stopping = true
        lock.unlock()
        done.wait()
        lock.lock()
        defer { lock.unlock() }
        return peaks
    }
}
