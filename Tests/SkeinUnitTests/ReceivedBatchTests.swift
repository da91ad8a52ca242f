import Testing
import SkeinCore
import SkeinLMDB
import SkeinReplication
@testable import SkeinStorage

/// A peer's batch decoded with its records left as bytes: the same entries a full parse
/// gives, the same bytes stored and the same attributes learned, and bad input refused.
@Suite("Received batches")
struct ReceivedBatchTests {
    static func entry(_ seq: UInt64, _ ids: [JSON], extra: String = "n") -> AuditEntry {
        AuditEntry(sequence: seq, version: HLCTimestamp(millis: 1_700_000_000_000 + seq, counter: 0), origin: "node-b", user: "u",
                   operation: "upsert", table: "dog", ids: ids,
                   records: ids.map { ["id": $0, "name": "Rex \"é\" ]}", .init(stringLiteral: extra): 1.5, "tags": ["a", ["b": nil]], "empty": [:]] },
                   previous: ids.map { _ in ["id": 0, "old": true] }, details: ["primary_key": "id"])
    }

    static func body(_ entries: [AuditEntry]) -> [UInt8] {
        JSON.object(["database": "data", "peer": "node-b", "entries": .array(entries.map(\.json)), "through": 5, "restart": false]).serialized()
    }

    @Test func headersAreBuiltAndRecordsKeptAsTheyCame() throws {
        let schema = AuditEntry(sequence: 6, version: HLCTimestamp(millis: 1_700_000_000_006, counter: 0), origin: "node-b", user: "u",
                                operation: "create_table", table: "cat", ids: [], records: [], previous: [],
                                details: ["primary_key": "id", "attributes": ["id", "name"]])
        let entries = [Self.entry(4, [1, "x"]), Self.entry(5, [2]), schema]
        let batch = try ReceivedBatch(bytes: Self.body(entries))
        #expect(batch.fields == ["database": "data", "peer": "node-b", "through": 5, "restart": false])
        #expect(batch.entries.count == 3)
        for (got, sent) in zip(batch.entries, entries) {
            #expect(got.sequence == sent.sequence && got.version == sent.version && got.origin == sent.origin)
            #expect(got.ids == sent.ids && got.details == sent.details && got.operation == sent.operation)
            #expect(got.previous.isEmpty, "before-images are not read")
        }
        for (got, sent) in zip(batch.entries.prefix(2), entries) {
            #expect(got.records.isEmpty)
            #expect(got.received?.map(Array.init) == sent.records.map { $0.serialized() })
            #expect(try got.writes.map { try $0.change.record() } == sent.writes.map { try $0.change.record() })
        }
        #expect(batch.entries[2].received == nil && batch.entries[2].details?["attributes"] == ["id", "name"])
    }

    @Test func anApplyStoresAndLearnsWhatAFullParseWould() throws {
        let entries = [Self.entry(1, [1, 2, "three"], extra: "weight"), Self.entry(2, [4], extra: "height")]
        let decoded = try ReceivedBatch(bytes: Self.body(entries)).entries
        var stored: [[UInt8]] = []
        var attributes: [[String]] = []
        for batch in [entries, decoded] {
            let f = try StorageFixture()
            try f.createTable()
            let outcome = try f.write { txn, _ in try f.env.applyReplicated(txn, peer: "node-b", entries: batch, through: 2) }
            #expect(outcome.applied == 4)
            stored.append(try f.read { txn in
                let db = try #require(f.env.lmdb.cached(StorageLayout.records("dog")))
                return try [1, 2, "three", 4].flatMap { (id: JSON) in try #require(try txn.get(db, KeyCodec.encode(id)!)) }
            })
            attributes.append(try f.read { try #require(try f.env.table($0, "dog")).attributes.sorted() })
        }
        #expect(stored[0] == stored[1])
        #expect(attributes[0] == attributes[1] && attributes[1].contains("weight") && attributes[1].contains("height"))
    }

    /// An origin's record entries name every attribute their records hold, in the order a
    /// reader of the records meets them first; a receiver learns from that list the same
    /// attributes, in the same order, as from reading each record (entries without it).
    @Test func recordAttributesTeachWhatReadingTheRecordsWould() throws {
        let origin = try StorageFixture()
        try origin.createTable()
        try origin.write { txn, ctx in
            _ = try origin.env.write(txn, table: "dog", records: [["id": 1, "zeta": 1, "b": "x"], ["id": 2, "a": true], ["name": "no id", "c": 3]],
                                     mode: .insert, context: ctx)
        }
        try origin.write { txn, ctx in
            _ = try origin.env.write(txn, table: "dog", records: [["id": 1, "new": [1, 2]]], mode: .update, context: ctx)
        }
        let entries = try origin.audit().filter { $0.table == "dog" && !$0.ids.isEmpty }
        #expect(entries.count == 2)
        #expect(entries[0].recordAttributes == ["__createdtime__", "__updatedtime__", "b", "id", "zeta", "a", "c", "name"])
        #expect(entries[1].recordAttributes == ["__createdtime__", "__updatedtime__", "b", "id", "new", "zeta"])
        var learned: [[String]] = []
        for withList in [true, false] {
            let sent = entries.map { e -> AuditEntry in
                var e = e
                if !withList { e.details = e.details.map { d in .object((d.objectValue ?? [:]).filter { $0.key != AuditEntry.recordAttributesKey }) } }
                return e
            }
            let f = try StorageFixture()
            try f.createTable()
            let decoded = try ReceivedBatch(bytes: Self.body(sent)).entries
            #expect(decoded.allSatisfy { ($0.recordAttributes != nil) == withList })
            _ = try f.write { txn, _ in try f.env.applyReplicated(txn, peer: "node-b", entries: decoded, through: 2) }
            learned.append(try f.read { try #require(try f.env.table($0, "dog")).attributes })
        }
        #expect(learned[0] == learned[1])
        #expect(learned[0] == (try origin.read { try #require(try origin.env.table($0, "dog")).attributes }))
    }

    @Test(arguments: [
        #"{"entries":[{"seq":1,"version":"5","origin":"b","op":"insert","table":"t","ids":[1],"records":[1]}]}"#,
        #"{"entries":[{"seq":1,"version":"5","origin":"b","op":"insert","table":"t","ids":[1],"records":[{"id":1}"#,
        #"{"entries":[{"version":"5","origin":"b","op":"insert","table":"t","ids":[1],"records":[{"id":1}]}]}"#,
        #"{"entries":{"seq":1}}"#,
        #"{"entries":[]} x"#,
        #"["entries"]"#,
    ])
    func badInputIsRefused(_ text: String) {
        #expect(throws: SkeinError.self) { try ReceivedBatch(bytes: Array(text.utf8)) }
    }
}
