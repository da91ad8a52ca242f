import Foundation
import SkeinCore

/// A node's replicator log (`log/replicator.log`, one JSON object per line,
/// docs/INTERFACES.md §3), followed as it grows for the lines that mark a full copy.
final class ReplicatorLog {
    let path: String
    private var offset: UInt64 = 0
    private var partial: [UInt8] = []
    private var seen: [String: Line] = [:]
    private let formatter = ISO8601DateFormatter()

    init(node: BenchNode) {
        path = node.root + "/log/replicator.log"
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    }

    struct Line {
        let time: Date
        let fields: [String: String]
    }

    /// The first line whose message is `message` about `database`, reading what was
    /// appended every 10 ms for `timeout` seconds at most.
    func waitFor(_ message: String, database: String, timeout: Double) throws -> Line {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            readNew()
            if let line = seen[message + " " + database] { return line }
            Thread.sleep(forTimeInterval: 0.01)
        }
        throw BenchError("no \"\(message)\" for database \(database) in \(path) within \(Int(timeout)) s")
    }

    private func readNew() {
        guard let file = FileHandle(forReadingAtPath: path) else { return }
        defer { try? file.close() }
        try? file.seek(toOffset: offset)
        guard let data = try? file.readToEnd(), !data.isEmpty else { return }
        offset += UInt64(data.count)
        partial.append(contentsOf: data)
        guard let end = partial.lastIndex(of: UInt8(ascii: "\n")) else { return }
        for raw in partial[..<end].split(separator: UInt8(ascii: "\n")) { remember(raw) }
        partial.removeSubrange(...end)
    }

    private func remember(_ raw: ArraySlice<UInt8>) {
        guard let json = try? JSON.parse(raw), let message = json["message"]?.stringValue else { return }
        let key = message + " " + (json["database"]?.stringValue ?? "")
        guard seen[key] == nil, let time = json["timestamp"]?.stringValue.flatMap(formatter.date(from:)) else { return }
        var fields: [String: String] = [:]
        for (k, v) in json.objectValue ?? [:] { fields[k] = v.stringValue ?? v.text }
        seen[key] = Line(time: time, fields: fields)
    }
}
