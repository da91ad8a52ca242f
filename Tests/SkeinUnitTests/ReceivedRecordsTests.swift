import Testing
import SkeinCore
import SkeinLMDB
@testable import SkeinStorage

/// Replicated records stored as the bytes they came in: found by version and id, the same
/// bytes serializing the parsed value would give, and not used when the request and the
/// entries do not match.
@Suite("Received records")
struct ReceivedRecordsTests {
    static func entry(_ seq: UInt64, _ ids: [JSON]) -> AuditEntry {
        AuditEntry(sequence: seq, version: HLCTimestamp(millis: 1_700_000_000_000 + seq, counter: 0), origin: "node-b", user: "u",
                   operation: "upsert", table: "dog", ids: ids,
                   records: ids.map { ["id": $0, "name": "Rex \"é\" ]}", "n": 1.5, "tags": ["a", ["b": nil]], "empty": [:]] },
                   previous: [], details: ["primary_key": "id"])
    }

    @Test func recordsAreFoundAsTheyCame() throws {
        let entries = [Self.entry(4, [1, "x"]), Self.entry(5, [2])]
        let body = JSON.object(["database": "data", "entries": .array(entries.map(\.json)), "through": 5]).serialized()
        let received = try #require(ReceivedRecords(body: body, entries: entries))
        for e in entries {
            for (id, record) in zip(e.ids, e.records) {
                let bytes = received.json(version: e.version, id: KeyCodec.encode(id)!)
                #expect(bytes.map(Array.init) == record.serialized(), "\(id)")
            }
        }
        #expect(received.json(version: entries[1].version, id: KeyCodec.encode(1)!) == nil)
        #expect(ReceivedRecords(body: body, entries: [entries[0]]) == nil, "a request that is not these entries")
    }

    @Test func anApplyStoresWhatItWouldHaveSerialized() throws {
        let entries = [Self.entry(1, [1, 2, "three"])]
        let body = JSON.object(["entries": .array(entries.map(\.json))]).serialized()
        #expect(ReceivedRecords(body: body, entries: entries) != nil)
        var stored: [[UInt8]] = []
        for received in [nil, ReceivedRecords(body: body, entries: entries)] {
            let f = try StorageFixture()
            try f.createTable()
            try f.write { txn, _ in _ = try f.env.applyReplicated(txn, peer: "node-b", entries: entries, through: 1, received: received) }
            stored.append(try f.read { txn in
                let db = try #require(f.env.lmdb.cached(StorageLayout.records("dog")))
                return try [1, 2, "three"].flatMap { (id: JSON) in try #require(try txn.get(db, KeyCodec.encode(id)!)) }
            })
        }
        #expect(stored[0] == stored[1])
    }
}
