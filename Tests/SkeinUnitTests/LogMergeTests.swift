import Foundation
import SkeinService
import Testing

/// `read_log` reads logs a chunk at a time, forward or backward, and merges files by time.
@Suite("Log lines and merge")
struct LogMergeTests {
    static func file(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "logmerge-\(UInt64.random(in: 0...UInt64.max)).log"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func lines(_ path: String, _ direction: LogFileLines.Direction, chunk: Int) -> [String] {
        guard let reader = LogFileLines(path: path, direction: direction, chunkSize: chunk) else { return [] }
        var out: [String] = []
        while let line = reader.next() { out.append(String(decoding: line, as: UTF8.self)) }
        return out
    }

    @Test(arguments: [1, 2, 5, 7, 64, 65536])
    func linesAcrossChunkBoundaries(chunk: Int) throws {
        let text = ["first", "", "a longer second line é", "3", "", "", "last without newline"].joined(separator: "\n")
        let path = try Self.file(text)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let expected = ["first", "a longer second line é", "3", "last without newline"]
        #expect(Self.lines(path, .forward, chunk: chunk) == expected)
        #expect(Self.lines(path, .backward, chunk: chunk) == expected.reversed())
        let trailing = try Self.file("x\ny\n")
        defer { try? FileManager.default.removeItem(atPath: trailing) }
        #expect(Self.lines(trailing, .forward, chunk: chunk) == ["x", "y"])
        #expect(Self.lines(trailing, .backward, chunk: chunk) == ["y", "x"])
    }

    @Test func emptyAndMissingFiles() throws {
        let path = try Self.file("")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(Self.lines(path, .forward, chunk: 4).isEmpty)
        #expect(Self.lines(path, .backward, chunk: 4).isEmpty)
        #expect(LogFileLines(path: path + ".missing", direction: .forward) == nil)
    }

    @Test func filesMergeByTimeEitherWay() throws {
        let a = try Self.file("1 a\n4 a\n5 a\nnot a line\n9 a\n")
        let b = try Self.file("2 b\n3 b\n8 b\n")
        let c = try Self.file("")
        defer { for p in [a, b, c] { try? FileManager.default.removeItem(atPath: p) } }
        func merged(_ newestFirst: Bool) -> [String] {
            var merge = LogMerge<String>(paths: [a, b, c, a + ".gone"], newestFirst: newestFirst) { bytes in
                let text = String(decoding: bytes, as: UTF8.self)
                guard let key = text.split(separator: " ").first, Int(key) != nil else { return nil }
                return (String(key), text)
            }
            var out: [String] = []
            while let line = merge.next() { out.append(line) }
            return out
        }
        #expect(merged(false) == ["1 a", "2 b", "3 b", "4 a", "5 a", "8 b", "9 a"])
        #expect(merged(true) == ["9 a", "8 b", "5 a", "4 a", "3 b", "2 b", "1 a"])
    }
}
