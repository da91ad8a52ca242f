import Foundation
import SkeinCore
import SkeinLMDB
import Testing
@testable import SkeinStorage

/// A write whose audit entry could not travel in one replication message is refused whole
/// (413), so no peer's stream ever stalls on it (ReplicationLimits).
@Suite("Entry limit: writes too big to replicate are refused")
struct EntryLimitTests {
    @Test func aWriteOverTheEntryLimitIsRefusedAndChangesNothing() throws {
        let f = try StorageFixture()
        f.env.maxEntryBytes = 1_000
        try f.createTable()
        try f.insert([["id": 1, "pad": .string(String(repeating: "a", count: 400))]])
        // Growing a record by updates is caught too: the entry carries the whole record after.
        try f.insert([["id": 1, "more": .string(String(repeating: "b", count: 400))]], mode: .update)
        let before = try f.audit().count
        for records: [JSON] in [
            [["id": 2, "pad": .string(String(repeating: "c", count: 1_200))]],
            [["id": 1, "again": .string(String(repeating: "d", count: 400))]],
            (3...6).map { ["id": JSON($0), "pad": .string(String(repeating: "e", count: 300))] },
        ] {
            let error = #expect(throws: SkeinError.self) { try f.insert(records, mode: .upsert) }
            #expect(error?.status == 413, "\(String(describing: error))")
        }
        #expect(try f.audit().count == before, "nothing logged")
        #expect(try f.record(2) == nil && f.record(3) == nil, "nothing written")
        #expect(try f.record(1)?["again"] == nil)
    }
}
