import Foundation

/// The lines of one log file, read forward or backward in fixed-size chunks: a reader holds
/// a chunk and the line it is on, never the file (`read_log` over large or many rotated logs).
public final class LogFileLines {
    public enum Direction: Sendable { case forward, backward }

    private let handle: FileHandle
    private let direction: Direction
    private let chunkSize: Int
    /// Bytes read but not yet split into lines; `position` is the file offset of the next
    /// chunk (forward: its start; backward: its end).
    private var pending: [UInt8] = []
    private var position: UInt64
    private var exhausted = false

    public init?(path: String, direction: Direction, chunkSize: Int = 64 * 1024) {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        self.handle = handle
        self.direction = direction
        self.chunkSize = chunkSize
        position = direction == .forward ? 0 : ((try? handle.seekToEnd()) ?? 0)
    }

    deinit { try? handle.close() }

    /// The next line (without its newline) in this reader's direction; nil at the end.
    /// Empty lines are skipped.
    public func next() -> ArraySlice<UInt8>? {
        while true {
            if let line = takeLine() { return line }
            guard !exhausted else {
                let rest = pending[start..<end]
                start = end
                return rest.isEmpty ? nil : rest
            }
            readChunk()
        }
    }

    /// The unread part of `pending` is `start..<end`.
    private var start = 0
    private var end = 0

    private func takeLine() -> ArraySlice<UInt8>? {
        while true {
            switch direction {
            case .forward:
                guard let nl = pending[start..<end].firstIndex(of: 0x0A) else { return nil }
                let line = pending[start..<nl]
                start = nl + 1
                if !line.isEmpty { return line }
            case .backward:
                guard let nl = pending[start..<end].lastIndex(of: 0x0A) else { return nil }
                let line = pending[(nl + 1)..<end]
                end = nl
                if !line.isEmpty { return line }
            }
        }
    }

    private func readChunk() {
        switch direction {
        case .forward:
            let data = (try? handle.read(upToCount: chunkSize)) ?? nil
            guard let data, !data.isEmpty else { exhausted = true; return }
            pending = Array(pending[start..<end]) + data
            position += UInt64(data.count)
        case .backward:
            guard position > 0 else { exhausted = true; return }
            let from = position >= UInt64(chunkSize) ? position - UInt64(chunkSize) : 0
            let data = ((try? handle.seek(toOffset: from)).flatMap { _ in try? handle.read(upToCount: Int(position - from)) }) ?? nil
            guard let data, !data.isEmpty else { exhausted = true; return }
            pending = Array(data) + pending[start..<end]
            position = from
        }
        start = 0
        end = pending.count
    }
}

/// Several logs' lines as one sequence ordered by a key (the timestamp), oldest or newest
/// first: each file is in order on its own, so a merge holds one line per file.
public struct LogMerge<Line> {
    private var heads: [(key: String, line: Line, source: Int)] = []
    private let sources: [LogFileLines]
    private let parse: (ArraySlice<UInt8>) -> (key: String, line: Line)?
    private let newestFirst: Bool

    /// `parse` gives a line's key and value, or nil to skip it.
    public init(paths: [String], newestFirst: Bool, parse: @escaping (ArraySlice<UInt8>) -> (key: String, line: Line)?) {
        sources = paths.compactMap { LogFileLines(path: $0, direction: newestFirst ? .backward : .forward) }
        self.parse = parse
        self.newestFirst = newestFirst
        for i in sources.indices { advance(i) }
    }

    private mutating func advance(_ source: Int) {
        while let bytes = sources[source].next() {
            if let (key, line) = parse(bytes) {
                heads.append((key, line, source))
                return
            }
        }
    }

    public mutating func next() -> Line? {
        guard !heads.isEmpty else { return nil }
        var best = 0
        for i in heads.indices.dropFirst() where newestFirst ? heads[i].key > heads[best].key : heads[i].key < heads[best].key {
            best = i
        }
        let head = heads.remove(at: best)
        advance(head.source)
        return head.line
    }
}
