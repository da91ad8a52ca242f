import Testing
@testable import SkeinCore
@testable import SkeinReplication

@Suite("Replication frames (docs/INTERFACES.md §8)")
struct ReplicationFrameTests {
    static let entry = AuditEntry(
        sequence: 7, version: HLCTimestamp(rawValue: 117_705_614_478_540_800), origin: "node-a", user: "admin",
        operation: "insert", table: "dog", ids: [1], records: [["id": 1, "name": "Rex"]], previous: [nil])

    @Test(arguments: [
        ReplicationFrame.hello(node: "node-a"),
        .hello(node: "node-a", time: 1_795_721_096_569),
        .hello(node: "node-a", time: 1_795_721_096_569, log: "0f3c9a11d2e4b5a6"),
        .hello(node: "node-b", time: 1_795_721_096_569, recordCounts: true),
        .message(.recordCounts(["dog": 12, "cat": 0])),
        .message(.recordCounts([:])),
        .message(.pruned(oldest: 3, reason: "the subscriber's position 9 is past the end of this log (2)")),
        .message(.copyRows(table: "dog", rows: [], last: 5, oversized: [["id": 4, "oversized": 70_000_000]])),
        .message(.batch(from: 5, through: 9, entries: [], newest: 12)),
        .message(.subscribe(from: 1, origins: ["node-a"])),
        .message(.subscribe(from: 42, origins: [])),
        .message(.batch(from: 5, through: 9, entries: [entry])),
        .message(.batch(from: 10, through: 12, entries: [])),
        .message(.ack(through: 9)),
        .message(.pruned(oldest: 100)),
        .message(.copyBegin()),
        .message(.copyBegin(startTime: 1_795_721_096_569)),
        .message(.subscribe(from: 1, origins: ["node-a"], startTime: 1_795_721_096_569)),
        .message(.copyTables(resumeFrom: 3001, tables: [
            ["database": "data", "name": "dog", "primary_key": "id", "attributes": ["id", "name"]],
        ])),
        .message(.copyTables(resumeFrom: 1, tables: [])),
        .message(.copyTables(resumeFrom: 9, tables: [], databases: ["data", "dev"])),
        .message(.copyPage(table: "dog", after: nil)),
        .message(.copyPage(table: "dog", after: 1000)),
        .message(.copyPage(table: "dog", after: "k-9")),
        .message(.copyRows(table: "dog", rows: [
            ["id": 1, "version": "117705614478540800", "origin": "node-a", "record": ["id": 1, "name": "Rex"]],
            ["id": 2, "version": "117705614478540801", "origin": "node-a", "deleted": true],
        ], last: 2)),
        .message(.copyRows(table: "dog", rows: [], last: nil)),
    ])
    func roundTrip(frame: ReplicationFrame) throws {
        #expect(try ReplicationFrame(text: frame.text) == frame)
    }

    @Test func wireShape() throws {
        #expect(ReplicationFrame.hello(node: "node-b").text == #"{"node":"node-b","type":"hello"}"#)
        #expect(ReplicationFrame.message(.subscribe(from: 3, origins: ["node-b"])).text == #"{"from":3,"origins":["node-b"],"type":"subscribe"}"#)
        #expect(ReplicationFrame.message(.ack(through: 8)).text == #"{"through":8,"type":"ack"}"#)
        #expect(ReplicationFrame.hello(node: "node-b", recordCounts: true).text == #"{"node":"node-b","record_counts":true,"type":"hello"}"#)
        #expect(ReplicationFrame.message(.recordCounts(["dog": 3])).text == #"{"tables":{"dog":3},"type":"record_counts"}"#)
        #expect(ReplicationFrame.message(.pruned(oldest: 2)).text == #"{"oldest":2,"type":"pruned"}"#)
        #expect(ReplicationFrame.message(.copyBegin()).text == #"{"type":"copy_begin"}"#)
        #expect(ReplicationFrame.message(.copyBegin(startTime: 5)).text == #"{"start_time":5,"type":"copy_begin"}"#)
        #expect(ReplicationFrame.message(.subscribe(from: 1, origins: [], startTime: 5)).text == #"{"from":1,"origins":[],"start_time":5,"type":"subscribe"}"#)
        #expect(ReplicationFrame.message(.copyPage(table: "dog", after: nil)).text == #"{"after":null,"table":"dog","type":"copy_page"}"#)
        #expect(ReplicationFrame.message(.copyRows(table: "dog", rows: [], last: nil)).text == #"{"last":null,"rows":[],"table":"dog","type":"copy_rows"}"#)
        let tables = try JSON.parse(ReplicationFrame.message(.copyTables(resumeFrom: 5, tables: [["name": "dog", "primary_key": "id"]])).text)
        #expect(tables["type"] == "copy_tables")
        #expect(tables["resume_from"] == 5)
        #expect(tables["tables"]?.arrayValue?.first?["name"] == "dog")
        // An absent `after` is the start of the table.
        #expect(try ReplicationFrame(text: #"{"type":"copy_page","table":"dog"}"#) == .message(.copyPage(table: "dog", after: nil)))
        let batch = try JSON.parse(ReplicationFrame.message(.batch(from: 7, through: 7, entries: [Self.entry])).text)
        #expect(batch["type"] == "batch")
        #expect(batch["entries"]?.arrayValue?.first == Self.entry.json)
    }

    @Test(arguments: [
        "", "[]", "{}", #"{"type":"nope"}"#, #"{"type":"hello"}"#, #"{"type":"hello","node":""}"#,
        #"{"type":"subscribe","from":-1,"origins":[]}"#, #"{"type":"subscribe","from":1.5,"origins":[]}"#,
        #"{"type":"subscribe","from":1,"origins":[1]}"#, #"{"type":"subscribe","from":1}"#,
        #"{"type":"subscribe","from":1,"origins":[],"start_time":"soon"}"#, #"{"type":"copy_begin","start_time":-3}"#,
        #"{"type":"batch","from":1,"through":2,"entries":[{"seq":1}]}"#, #"{"type":"batch","from":1,"through":2}"#,
        #"{"type":"ack","through":"3"}"#, #"{"type":"pruned"}"#,
        #"{"type":"copy_tables","tables":[]}"#, #"{"type":"copy_tables","resume_from":1}"#,
        #"{"type":"copy_tables","resume_from":1,"tables":[{"name":"dog"}]}"#,
        #"{"type":"copy_page","after":null}"#, #"{"type":"copy_page","table":"","after":null}"#,
        #"{"type":"copy_page","table":"dog","after":[1]}"#,
        #"{"type":"copy_rows","table":"dog","last":null}"#, #"{"type":"copy_rows","table":"dog","rows":[],"last":{}}"#,
        #"{"type":"record_counts"}"#, #"{"type":"record_counts","tables":{"dog":-1}}"#, #"{"type":"record_counts","tables":{"dog":"3"}}"#,
    ])
    func rejectsMalformed(text: String) {
        #expect(throws: ReplicationFrame.DecodeError.self) { try ReplicationFrame(text: text) }
    }
}
