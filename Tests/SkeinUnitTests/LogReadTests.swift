import Foundation
import SkeinCore
import SkeinLMDB
import Testing
@testable import SkeinStorage

/// A publisher's log read: other nodes' entries are skipped without parsing (their origin
/// read from the stored bytes), still covered by `next`, and holes are still reported.
@Suite("Log reads by origin")
struct LogReadTests {
    static func entry(_ origin: String, details: JSON? = nil) -> AuditEntry {
        AuditEntry(sequence: 0, version: HLCTimestamp(millis: 5, counter: 0), origin: origin, user: "u", operation: "insert", table: "dog",
                   ids: [#"a "quoted" "origin":"node-x" id"#], records: [["id": 1, "origin": "node-z"]], previous: [nil], details: details)
    }

    @Test func theOriginIsReadFromTheStoredBytes() {
        for origin in ["node-a", "b", "é-node"] {
            #expect(AuditEntry.origin(ofStored: Self.entry(origin, details: ["primary_key": "id"]).json.serialized()) == origin)
        }
        // A table's description in `details` may have an attribute named `origin` as a key.
        let typed: JSON = ["primary_key": "id", "types": ["origin": "String"], "attributes": ["origin"]]
        #expect(AuditEntry.origin(ofStored: Self.entry("node-a", details: typed).json.serialized()) == "node-a")
        #expect(AuditEntry.origin(ofStored: Array(#"{"details":{"origin":"x"},"op":"insert"}"#.utf8)) == nil, "only details names one")
        #expect(AuditEntry.origin(ofStored: Array(#"{"origin":"a\"b"}"#.utf8)) == nil, "an escape: parse instead")
        #expect(AuditEntry.origin(ofStored: Array(#"{"op":"x"}"#.utf8)) == nil)
    }

    /// Peers get entries without before-images, cut out of the stored bytes: the rest is
    /// byte for byte what was stored.
    @Test func beforeImagesAreCutOutOfTheStoredBytes() throws {
        var e = Self.entry("node-a", details: ["primary_key": "id"])
        e.previous = [["id": 1, "note": "a ] and a \" and [ in a string"], .null]
        let stored = e.json.serialized()
        let cut = try #require(AuditEntry.withoutPrevious(stored: stored))
        var expected = e
        expected.previous = []
        #expect(AuditEntry(json: try JSON.parse(cut)) == expected)
        #expect(cut.count < stored.count && !String(decoding: cut, as: UTF8.self).contains("previous"))
        #expect(AuditEntry.withoutPrevious(stored: Array(#"{"op":"x"}"#.utf8)) == nil)
    }

    @Test func otherOriginsAreSkippedAndHolesStillReported() throws {
        let f = try StorageFixture()
        try f.env.lmdb.write { txn in
            for origin in ["node-b", "node-a", "node-b", "node-b", "node-a"] { _ = try f.env.appendAudit(txn, Self.entry(origin)) }
        }
        var read = try f.read { try f.env.readLog($0, from: 1, limit: 10, origins: ["node-a"]) }
        #expect(read.entries.map(\.sequence) == [2, 5] && read.next == 6 && !read.missing)
        read = try f.read { try f.env.readLog($0, from: 3, limit: 2, origins: ["node-a"]) }
        #expect(read.entries.isEmpty && read.next == 5 && !read.missing, "two looked at, both skipped")
        // Entry 4 deleted: a hole after a skipped entry is reported at its own start.
        try f.env.lmdb.write { txn in _ = try txn.delete(f.env.auditDB, KeyCodec.encodeUInt64(4)) }
        read = try f.read { try f.env.readLog($0, from: 3, limit: 10, origins: ["node-a"]) }
        #expect(read.entries.isEmpty && read.next == 4 && !read.missing)
        read = try f.read { try f.env.readLog($0, from: 4, limit: 10, origins: ["node-a"]) }
        #expect(read.missing)
    }
}
