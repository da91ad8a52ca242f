import Testing
@testable import SkeinCore
@testable import SkeinStorage

@Suite("Audit entries and stored records")
struct AuditEntryTests {
    static let version = HLCTimestamp(millis: 1_795_721_096_569, counter: 3)

    static func insertEntry() -> AuditEntry {
        AuditEntry(
            sequence: 12, version: version, origin: "node-a", user: "admin", operation: "insert", table: "dog",
            ids: [1, 2], records: [["id": 1, "name": "a"], ["id": 2, "name": "b"]], previous: [nil, nil])
    }

    @Test func jsonShape() {
        let json = Self.insertEntry().json
        #expect(json["seq"] == 12)
        #expect(json["version"] == .string(String(Self.version.rawValue)))
        #expect(json["ts"] == .number(1_795_721_096_569))
        #expect(json["origin"] == "node-a")
        #expect(json["user"] == "admin")
        #expect(json["op"] == "insert")
        #expect(json["table"] == "dog")
        #expect(json["ids"] == [1, 2])
        #expect(json["records"]?.arrayValue?.count == 2)
        #expect(json["previous"] == [nil, nil])
        #expect(json["details"] == nil)
        // The version is a decimal string so 64-bit values survive JavaScript clients.
        #expect(json.text.contains("\"version\":\"\(Self.version.rawValue)\""))
    }

    @Test func jsonRoundTrip() throws {
        let entries = [
            Self.insertEntry(),
            AuditEntry(sequence: 1, version: HLCTimestamp(rawValue: .max >> 8), origin: "n", user: nil, operation: "create_table",
                       table: "t", ids: [], records: [], previous: [], details: ["name": "t", "primary_key": "id"]),
            AuditEntry(sequence: 99, version: Self.version, origin: "node-b", user: "u", operation: "update", table: "t",
                       ids: ["x"], records: [["id": "x", "v": 2]], previous: [["id": "x", "v": 1]]),
        ]
        for e in entries {
            #expect(AuditEntry(json: e.json) == e)
            // Through bytes too, as stored in LMDB.
            #expect(AuditEntry(json: try JSON.parse(e.json.serialized())) == e)
        }
    }

    @Test func timestampIsTheVersionsMillis() {
        #expect(Self.insertEntry().timestamp == 1_795_721_096_569)
    }

    @Test(arguments: [
        JSON.null, "entry", [1],
        ["version": "1", "origin": "n", "op": "insert", "table": "t"], // no seq
        ["seq": 1, "origin": "n", "op": "insert", "table": "t"], // no version
        ["seq": 1, "version": 5, "origin": "n", "op": "insert", "table": "t"], // version not a string
        ["seq": 1, "version": "abc", "origin": "n", "op": "insert", "table": "t"],
        ["seq": 1, "version": "1", "op": "insert", "table": "t"], // no origin
        ["seq": 1, "version": "1", "origin": "n", "table": "t"], // no op
        ["seq": 1, "version": "1", "origin": "n", "op": "insert"], // no table
    ])
    func rejectsIncompleteJSON(json: JSON) {
        #expect(AuditEntry(json: json) == nil)
    }

    @Test
    func rejectsOutOfRangeSequence() {
        #expect(AuditEntry(json: ["seq": -1, "version": "1", "origin": "n", "op": "insert", "table": "t"]) == nil)
        #expect(AuditEntry(json: ["seq": 1e30, "version": "1", "origin": "n", "op": "insert", "table": "t"]) == nil)
    }

    @Test func harperShapeWithoutPrevious() {
        let h = Self.insertEntry().harperShape
        #expect(h["operation"] == "insert")
        #expect(h["user_name"] == "admin")
        #expect(h["timestamp"] == .number(1_795_721_096_569))
        #expect(h["hash_values"] == [1, 2])
        #expect(h["records"] == [["id": 1, "name": "a"], ["id": 2, "name": "b"]])
        #expect(h["original_records"] == nil)
    }

    @Test func harperShapeWithPrevious() {
        var e = Self.insertEntry()
        e.operation = "upsert"
        e.previous = [nil, ["id": 2, "name": "old"]]
        e.user = nil
        let h = e.harperShape
        #expect(h["original_records"] == [nil, ["id": 2, "name": "old"]])
        #expect(h["user_name"] == .null)
        #expect(h["operation"] == "upsert")
    }

    @Test func harperShapeOfDelete() {
        let e = AuditEntry(sequence: 5, version: Self.version, origin: "n", user: "u", operation: "delete", table: "dog",
                           ids: [7], records: [], previous: [["id": 7]])
        let h = e.harperShape
        #expect(h["records"] == [])
        #expect(h["original_records"] == [["id": 7]])
        #expect(h["hash_values"] == [7])
    }

    // MARK: StoredRecord

    @Test func storedRecordRoundTrip() throws {
        let r = StoredRecord(version: Self.version, origin: "node-a", value: ["id": 1, "name": "é😀", "n": [1, 2.5]])
        let bytes = r.encoded()
        #expect(Array(bytes[0..<8]) == KeyCodec.encodeUInt64(Self.version.rawValue))
        #expect(bytes[8] == 6)
        #expect(Array(bytes[9..<15]) == Array("node-a".utf8))
        #expect(Array(bytes[15...]) == r.value.serialized())
        let d = try #require(StoredRecord.decode(bytes))
        #expect(d.version == r.version)
        #expect(d.origin == r.origin)
        #expect(d.value == r.value)
    }

    @Test func storedRecordWithEmptyOrigin() throws {
        let r = StoredRecord(version: .zero, origin: "", value: nil)
        let d = try #require(StoredRecord.decode(r.encoded()))
        #expect(d.origin == "")
        #expect(d.value == .null)
        #expect(d.version == .zero)
    }

    @Test func storedRecordOriginIsCappedAt255Bytes() throws {
        let r = StoredRecord(version: Self.version, origin: String(repeating: "o", count: 300), value: ["a": 1])
        let d = try #require(StoredRecord.decode(r.encoded()))
        #expect(d.origin == String(repeating: "o", count: 255))
        #expect(d.value == ["a": 1])
    }

    @Test func storedRecordDecodeRejectsMalformed() {
        #expect(StoredRecord.decode([]) == nil)
        #expect(StoredRecord.decode([0, 0, 0, 0, 0, 0, 0, 1]) == nil) // no origin length
        #expect(StoredRecord.decode([0, 0, 0, 0, 0, 0, 0, 1, 5, 0x61]) == nil) // origin cut short
        #expect(StoredRecord.decode([0, 0, 0, 0, 0, 0, 0, 1, 0]) == nil) // no value
        #expect(StoredRecord.decode([0, 0, 0, 0, 0, 0, 0, 1, 0] + Array("{bad".utf8)) == nil)
    }
}
