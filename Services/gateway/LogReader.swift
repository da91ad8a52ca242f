import Foundation
import SkeinCore
import SkeinService

/// `read_log`: reads the services' JSON-lines log files of this node and filters them.
struct LogReader {
    let logDir: String
    static let services = ["store", "auditd", "gateway", "replicator"]

    /// The log files of a service (`replicator` has one per region: `replicator-us.log`), or
    /// of every service when `service` is nil, rotated ones (`store.log.1`, ...) included.
    func logFiles(service: String?) -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: logDir)) ?? []
        return files.filter { file in
            guard let dot = file.range(of: ".log") else { return false }
            let suffix = file[dot.upperBound...]
            guard suffix.isEmpty || (suffix.first == "." && suffix.dropFirst().allSatisfy(\.isNumber) && suffix.count > 1) else { return false }
            let name = String(file[..<dot.lowerBound])
            if let service { return name == service || (Self.services.contains(service) && name.hasPrefix("\(service)-")) }
            return Self.services.contains { name == $0 || name.hasPrefix("\($0)-") }
        }.sorted()
    }

    func read(_ req: OperationRequest) throws -> JSON {
        let start = try req.int("start") ?? 0
        let limit = try req.int("limit") ?? 1000
        guard start >= 0, limit >= 0 else { throw SkeinError.badRequest("'start' and 'limit' must not be negative") }
        let level = try req.string("level")?.lowercased()
        if let level, !NodeConfig.logLevels.contains(level) {
            throw SkeinError.badRequest("'level' must be one of \(NodeConfig.logLevels.joined(separator: ", "))")
        }
        let order = try req.string("order")?.lowercased() ?? "asc"
        guard order == "asc" || order == "desc" else { throw SkeinError.badRequest("'order' must be \"asc\" or \"desc\"") }
        let from = try Self.time(req, "from"), until = try Self.time(req, "until")
        let wanted = try req.string("service")
        if let wanted, !Self.services.contains(wanted), !Self.services.contains(where: { wanted.hasPrefix("\($0)-") }) {
            throw SkeinError.badRequest("'service' must be one of \(Self.services.joined(separator: ", ")) (or replicator-REGION)")
        }
        guard limit <= Self.maxLimit else {
            throw SkeinError.badRequest("'limit' must be at most \(Self.maxLimit) (read further with 'start')")
        }
        // Merged newest or oldest first, a line per file at a time: memory is the page asked for.
        let newestFirst = order == "desc"
        var merge = LogMerge<JSON>(paths: logFiles(service: wanted).map { "\(logDir)/\($0)" }, newestFirst: newestFirst) { bytes in
            guard let entry = try? JSON.parse(bytes), let ts = entry["timestamp"]?.stringValue else { return nil }
            if let level, entry["level"]?.stringValue != level { return nil }
            return (ts, entry)
        }
        var out: [JSON] = []
        var skipped = 0
        while out.count < limit, let entry = merge.next() {
            let ts = entry["timestamp"]?.stringValue ?? ""
            if let from, ts < from { if newestFirst { break } else { continue } }
            if let until, ts > until { if newestFirst { continue } else { break } }
            if skipped < start { skipped += 1; continue }
            out.append(entry)
        }
        return .array(out)
    }

    /// The most lines one `read_log` returns; more are read page by page with `start`.
    static let maxLimit = 10_000

    /// `from`/`until` as ISO-8601 text (compared as text, like the log's own timestamps) or
    /// epoch milliseconds.
    static func time(_ req: OperationRequest, _ key: String) throws -> String? {
        guard let v = req.body[key], !v.isNull else { return nil }
        if let ms = v.doubleValue {
            let f = ISO8601DateFormatter()
            f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            return f.string(from: Date(timeIntervalSince1970: ms / 1000))
        }
        guard let s = v.stringValue, ISO8601DateFormatter().date(from: s) != nil || s.count >= 10 else {
            throw SkeinError.badRequest("'\(key)' must be an ISO-8601 date or epoch milliseconds")
        }
        return s
    }
}
