import Foundation

/// CPU seconds (user + system, from /proc/PID/stat) used by named processes between a
/// snapshot and now: where a phase's time went.
struct CPUAccount {
    let pids: [String: Int32]
    private let start: [String: Double]
    private let machineStart: Double
    private let began = Date()

    init(_ pids: [String: Int32]) {
        self.pids = pids
        start = pids.mapValues(Self.seconds)
        machineStart = Self.machineBusySeconds()
    }

    /// CPU seconds the whole machine spent busy (all but idle and iowait, /proc/stat).
    static func machineBusySeconds() -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = stat.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return 0 }
        let ticks = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard ticks.count >= 5 else { return 0 }
        return (ticks.reduce(0, +) - ticks[3] - ticks[4]) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// CPU seconds of one process so far (0 when it is gone).
    static func seconds(_ pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")") else { return 0 }
        // Fields after the command name: state is field 3, utime 14 and stime 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// "cpu 4.2 s in 3.0 s on 2 cores (machine busy 5.1 s): a.store 1.9, b.store 1.1, ..."
    /// (the largest first; the machine's busy time includes other work on it).
    func summary() -> String {
        let used = pids.map { ($0.key, Self.seconds($0.value) - (start[$0.key] ?? 0)) }.filter { $0.1 >= 0.05 }.sorted { $0.1 > $1.1 }
        let total = used.reduce(0) { $0 + $1.1 }
        let wall = Date().timeIntervalSince(began)
        return String(format: "cpu %.1f s in %.1f s on %d cores (machine busy %.1f s): ", total, wall, ProcessInfo.processInfo.activeProcessorCount,
                      Self.machineBusySeconds() - machineStart)
            + used.map { String(format: "%@ %.1f", $0.0 as NSString, $0.1) }.joined(separator: ", ")
    }
}
