import Foundation
import SkeinCore

/// Where a CSV load reads from: the request's `data`, or a file on this node (`csv_file_load`,
/// and `csv_url_load` once downloaded). Read a chunk at a time, and twice (a first pass
/// checks every row, a second writes), so a file of any size needs memory for one batch.
enum CSVSource: Sendable {
    case text(String)
    case file(String)

    static let chunkBytes = 256 * 1024

    /// Calls `row` with each row and its 1-based line number (the header included).
    func forEachRow(_ row: ([String], Int) async throws -> Void) async throws {
        var reader = CSVReader()
        var line = 0
        func emit(_ rows: [[String]]) async throws {
            for r in rows {
                line += 1
                try await row(r, line)
            }
        }
        do {
            switch self {
            case .text(let text):
                try await emit(try reader.feed(text.utf8))
            case .file(let path):
                guard let handle = FileHandle(forReadingAtPath: path) else { throw SkeinError.badRequest("cannot read '\(path)' on this node") }
                defer { try? handle.close() }
                while let data = try handle.read(upToCount: Self.chunkBytes), !data.isEmpty {
                    try await emit(try reader.feed(data))
                }
            }
            try await emit(try reader.finish())
        } catch let failure as CSVReader.Failure {
            throw SkeinError.badRequest("\(failure)")
        }
    }
}
