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

    static let writes = [
        ReplicatedWrite(table: "t", id: 1, change: .put(["id": 1, "s": "a \"quoted\" ]}"]), version: RecordVersion(version: HLCTimestamp(millis: 9, counter: 1), origin: "node-a")),
        ReplicatedWrite(table: "t", id: "two", change: .putReceived(Array(#"{"id":"two","n":[1,{"x":2}]}"#.utf8)[...]),
                        version: RecordVersion(version: HLCTimestamp(millis: 1_800_000_000_000, counter: 65_535), origin: "node-b")),
        ReplicatedWrite(table: "t", id: 3, change: .delete, version: RecordVersion(version: HLCTimestamp(millis: 10, counter: 0), origin: "node-c")),
    ]

    /// A copy row written as bytes (records spliced as stored) is the row `copyRow` builds.
    @Test func copyRowBytesAreTheCopyRow() throws {
        for w in Self.writes {
            var bytes: [UInt8] = []
            w.writeCopyRow(into: &bytes)
            #expect(try JSON.parse(bytes) == w.copyRow)
        }
    }

    /// A page passed on as bytes: the spliced `copy_rows` is the same message, and rows
    /// decoded to their fields keep id, version and origin, records unbuilt.
    @Test func aSplicedCopyPageIsTheSameMessage() throws {
        let rows = Self.writes.map(\.copyRow)
        var raw: [UInt8] = [UInt8(ascii: "[")]
        for (i, w) in Self.writes.enumerated() {
            if i > 0 { raw.append(UInt8(ascii: ",")) }
            w.writeCopyRow(into: &raw)
        }
        raw.append(UInt8(ascii: "]"))
        let frame = ReplicationFrame.message(.copyRows(table: "t", rows: rows, last: 3, oversized: [["id": 4, "oversized": 99]]))
        let spliced = ReplicationFrame.copyRowsBytes(table: "t", last: 3, oversized: [["id": 4, "oversized": 99]], rows: raw[...])
        #expect(try ReplicationFrame(text: String(decoding: spliced, as: UTF8.self)) == frame)
        let light = try ReplicationFrame(json: JSON.parse(spliced, buildingDepth: 3))
        guard case .message(.copyRows("t", let fields, 3, _)) = light else { Issue.record("not the page: \(light)"); return }
        #expect(fields.map { $0["version"] } == rows.map { $0["version"] } && fields.map { $0["id"] } == rows.map { $0["id"] })
        #expect(fields[0]["record"] == [:] && fields[2]["deleted"] == true)
        let range = try #require(JSON.topLevelValueRange(of: "rows", in: spliced))
        let received = ReplicationFrame.RawRows(table: "t", count: fields.count, bytes: spliced[range])
        #expect(received.are("t", fields) && !received.are("u", fields) && !received.are("t", Array(fields.dropLast())))
        // The store reads the rows back as writes holding the records' bytes.
        let request = JSON.object(splicing: received.bytes, as: "rows", with: ["database": "d", "table": "t"])
        let decoded = try ReceivedRows(bytes: request)
        #expect(decoded.fields == ["database": "d", "table": "t"])
        let back = ReplicatedWrite.fromCopyRows(table: "t", received: decoded.rows)
        #expect(back.map(\.copyRow) == rows)
        #expect(back.map(\.version) == Self.writes.map(\.version))
        guard case .putReceived = back[0].change, case .delete = back[2].change else { Issue.record("not kept as bytes: \(back)"); return }
    }

    @Test(arguments: [#"{"database":"d"}"#, #"{"rows":{}}"#, #"{"rows":[1]}"#, #"{"rows":[{"record":{"a":"}]}"#, #"{"rows":[]"#])
    func malformedCopiedRowsAreRefused(_ body: String) {
        #expect(throws: SkeinError.self) { try ReceivedRows(bytes: Array(body.utf8)) }
    }
}
