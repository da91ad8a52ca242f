import Foundation
import Logging
import SkeinCore

/// Structured logging for a Skein service: one JSON object per line, to the service's own
/// file (`LOGDIR/SERVICE.log`) and to stdout, so `docker logs`, the launcher's `.out`
/// files and `read_log` all see the same lines.
public struct ServiceLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    let service: String
    let sink: LogSink

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var o: [String: JSON] = [
            "level": .string(Self.levelName(event.level)),
            "service": .string(service),
            "message": .string("\(event.message)"),
        ]
        for (k, v) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { _, b in b }) {
            o[k] = .string("\(v)")
        }
        sink.write { timestamp in
            o["timestamp"] = .string(timestamp)
            return JSON.object(o).serialized()
        }
    }

    static func levelName(_ level: Logger.Level) -> String {
        switch level {
        case .trace: "trace"
        case .debug: "debug"
        case .info: "info"
        case .notice: "notice"
        case .warning: "warn"
        case .error: "error"
        case .critical: "fatal"
        }
    }

    public static func level(named name: String) -> Logger.Level {
        switch name {
        case "trace": .trace
        case "debug": .debug
        case "notice": .notice
        case "warn", "warning": .warning
        case "error": .error
        case "fatal", "critical": .critical
        default: .info
        }
    }
}

/// The file and stdout a service's log lines go to; shared by every logger in a process.
/// The file rotates by size: at `rotateBytes` it becomes `PATH.1` (older ones move up to
/// `PATH.retain`, the oldest beyond is deleted) and a new `PATH` starts.
public final class LogSink: @unchecked Sendable {
    private let lock = NSLock()
    private let path: String?
    private var file: FileHandle?
    private let rotateBytes: UInt64?
    private let retain: Int
    private var written: UInt64 = 0

    public init(path: String?, rotateBytes: UInt64? = nil, retain: Int = 10) {
        self.path = path
        self.rotateBytes = rotateBytes
        self.retain = max(1, retain)
        if let path {
            // Private to the service user whatever the umask (logs name users and peers).
            let dir = (path as NSString).deletingLastPathComponent
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            // Not a shared directory (sticky bit, like /tmp), which must stay open to all.
            var st = stat()
            if stat(dir, &st) == 0, st.st_mode & S_ISVTX == 0 { chmod(dir, 0o700) }
            open(path)
        }
    }

    private func open(_ path: String) {
        if !FileManager.default.fileExists(atPath: path) {
            FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        chmod(path, 0o600)
        file = FileHandle(forWritingAtPath: path)
        written = (try? file?.seekToEnd()) ?? 0
    }

    /// Writes the line `line` makes with the time of writing: stamped under the lock, the
    /// lines of a file are in time order whichever threads log at once (`read_log` merges
    /// files on that order).
    func write(_ line: (String) -> [UInt8]) {
        lock.lock()
        defer { lock.unlock() }
        var data = line(Self.timestamp(Date()))
        data.append(0x0A)
        data.withUnsafeBytes { _ = Foundation.write(1, $0.baseAddress, $0.count) }
        guard let file else { return }
        try? file.write(contentsOf: data)
        written += UInt64(data.count)
        if let rotateBytes, written >= rotateBytes { rotate() }
    }

    /// `PATH` → `PATH.1` → ... → `PATH.retain`; the oldest beyond goes.
    private func rotate() {
        guard let path else { return }
        try? file?.close()
        let fm = FileManager.default
        try? fm.removeItem(atPath: "\(path).\(retain)")
        for n in stride(from: retain - 1, through: 1, by: -1) where fm.fileExists(atPath: "\(path).\(n)") {
            try? fm.moveItem(atPath: "\(path).\(n)", toPath: "\(path).\(n + 1)")
        }
        try? fm.moveItem(atPath: path, toPath: "\(path).1")
        open(path)
    }

    /// The logs' timestamp format (ISO 8601 with milliseconds, UTC); also what
    /// `cluster_status` shows, so times read the same everywhere.
    public static func timestamp(_ date: Date) -> String {
        formatterLock.lock()
        defer { formatterLock.unlock() }
        return formatter.string(from: date)
    }

    nonisolated(unsafe) private static let formatter: ISO8601DateFormatter = {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }()
    private static let formatterLock = NSLock()
}

public enum ServiceLogging {
    /// Installs the JSON handler process-wide and returns the service's logger.
    /// `rotateBytes`/`retain`: `logging.rotation.maxSize`/`retain` (`LogSink`).
    public static func bootstrap(service: String, logDir: String?, level: String, rotateBytes: UInt64? = nil, retain: Int = 10) -> Logger {
        let sink = LogSink(path: logDir.map { "\($0)/\(service).log" }, rotateBytes: rotateBytes, retain: retain)
        let lvl = ServiceLogHandler.level(named: level)
        LoggingSystem.bootstrap { _ in ServiceLogHandler(logLevel: lvl, service: service, sink: sink) }
        return Logger(label: "skein.\(service)")
    }
}
