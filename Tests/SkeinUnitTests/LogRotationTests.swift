import Foundation
import Testing
@testable import SkeinService

/// A service's log file rotates by size, keeping a bounded number of older files, newest
/// first, every line whole and private to the service user.
@Suite("Log rotation")
struct LogRotationTests {
    @Test func filesRotateAtTheSizeAndOnlyRetainedOnesStay() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/log/store.log"
            let sink = LogSink(path: path, rotateBytes: 1000, retain: 2)
            for i in 0..<100 { sink.write { _ in Array(#"{"n":\#(i),"pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#.utf8) } }
            let fm = FileManager.default
            #expect(fm.fileExists(atPath: path) && fm.fileExists(atPath: path + ".1") && fm.fileExists(atPath: path + ".2"))
            #expect(!fm.fileExists(atPath: path + ".3"), "only 2 older files are kept")
            func numbers(_ p: String) throws -> [Int] {
                try String(contentsOfFile: p, encoding: .utf8).split(separator: "\n").map { line in
                    let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                    return try #require(o?["n"] as? Int)
                }
            }
            let (older, old, current) = (try numbers(path + ".2"), try numbers(path + ".1"), try numbers(path))
            #expect(older + old + current == Array((100 - older.count - old.count - current.count)..<100), "whole lines, in order, newest last")
            for p in [path, path + ".1", path + ".2"] {
                let size = try #require(try fm.attributesOfItem(atPath: p)[.size] as? NSNumber).intValue
                #expect(size < 1200)
                #expect((try fm.attributesOfItem(atPath: p)[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            }
        }
    }
}
