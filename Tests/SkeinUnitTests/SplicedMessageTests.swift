import SkeinCore
import Testing
@testable import SkeinReplication

/// Entries passed on as bytes: a batch built by splicing them is the same message as one
/// built from parsed entries, and the entries of a received batch are found without
/// building them.
@Suite("Spliced messages")
struct SplicedMessageTests {
    static let entries = (1...3).map { i in
        AuditEntry(sequence: UInt64(i), version: HLCTimestamp(millis: 9, counter: UInt16(i)), origin: "node-a", user: "u", operation: "insert",
                   table: "t", ids: [JSON(i)], records: [["id": JSON(i), "entries": [1, "]", ["x": "}"]]]], previous: [], details: ["primary_key": "id"])
    }

    @Test func aSplicedBatchIsTheSameMessage() throws {
        let frame = ReplicationFrame.message(.batch(from: 1, through: 4, entries: Self.entries, newest: 7, clock: 1 << 40))
        let raw = JSON.array(Self.entries.map(\.json)).serialized()
        let spliced = ReplicationFrame.batchBytes(from: 1, through: 4, newest: 7, clock: 1 << 40, entries: raw[...])
        #expect(try ReplicationFrame(text: String(decoding: spliced, as: UTF8.self)) == frame)
    }

    @Test func theEntriesOfAMessageAreFoundWithoutBuildingThem() throws {
        let text = Array(ReplicationFrame.message(.batch(from: 1, through: 3, entries: Self.entries, newest: 3, clock: 5)).text.utf8)
        let range = try #require(JSON.topLevelValueRange(of: "entries", in: text))
        #expect(try JSON.parse(text[range]) == JSON.array(Self.entries.map(\.json)))
        #expect(JSON.topLevelValueRange(of: "through", in: text).map { String(decoding: text[$0], as: UTF8.self) } == "3")
        #expect(JSON.topLevelValueRange(of: "missing", in: text) == nil)
        #expect(JSON.topLevelValueRange(of: "a", in: Array("[1]".utf8)) == nil)
        #expect(JSON.object(splicing: Array("[1]".utf8)[...], as: "a", with: [:]) == Array(#"{"a":[1]}"#.utf8))
    }

    /// A batch decoded to its entries' headers: the machine sees sequence, version, origin
    /// and operation; records are not built; part of it is read whole from the bytes.
    @Test func entriesDecodedToTheirHeadersAreReadWholeWhenNeeded() throws {
        let text = Array(ReplicationFrame.message(.batch(from: 1, through: 3, entries: Self.entries, newest: 3, clock: 5)).text.utf8)
        let light = try ReplicationFrame(json: JSON.parse(text, buildingDepth: 3))
        guard case .message(.batch(1, 3, let headers, 3, 5)) = light else { Issue.record("not the batch: \(light)"); return }
        #expect(headers.map(\.sequence) == [1, 2, 3] && headers.map(\.version) == Self.entries.map(\.version))
        #expect(headers.allSatisfy { $0.origin == "node-a" && $0.operation == "insert" && $0.records.isEmpty })
        let raw = ReplicationFrame.RawEntries(sequences: [1, 2, 3], bytes: text[try #require(JSON.topLevelValueRange(of: "entries", in: text))])
        #expect(raw.are(headers))
        #expect(raw.whole(Array(headers[1...])) == Array(Self.entries[1...]))
        #expect(raw.whole([Self.entries[0], AuditEntry(sequence: 9, version: HLCTimestamp(millis: 1, counter: 0), origin: "x", user: nil,
                                                       operation: "insert", table: "t", ids: [], records: [], previous: [], details: nil)]) == nil)
    }
}
