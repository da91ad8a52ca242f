import SkeinCore
import Testing
@testable import SkeinReplication

/// The publisher's protocol driven by hand, without sockets, auditd or a store.
@Suite("PublisherMachine: the publisher's protocol as a script")
struct PublisherMachineTests {
    static let allowed: Set<String> = ["node-b"]

    static func machine() -> PublisherMachine {
        PublisherMachine(config: .init(node: "node-a", database: "data", holdRefreshMillis: 5_000), certificateNames: ["node-b"],
                         certificateSerial: "01")
    }

    static func entry(_ seq: UInt64) -> AuditEntry {
        AuditEntry(sequence: seq, version: HLCTimestamp(millis: 1_000, counter: 0), origin: "node-a", user: nil,
                   operation: "insert", table: "dog", ids: [JSON(seq)], records: [["id": JSON(seq)]], previous: [nil])
    }

    /// Serving: hello answered with the log's identity, subscribe checked against the log's
    /// bounds, reads become batches, a replaced log ends the connection.
    @Test func servesAStreamAndEndsItWhenTheLogIsReplaced() {
        var m = Self.machine()
        var r = m.step(.frame(.hello(node: "node-b", time: 1, log: nil), allowed: Self.allowed, now: 10))
        #expect(r.store == [.logIdentity])
        r = m.step(.stored(.logIdentity("L1"), now: 11))
        #expect(r.frames == [.hello(node: "node-a", time: 11, log: "L1")] && m.peer == "node-b" && m.status.publishing)
        r = m.step(.frame(.message(.subscribe(from: 3, origins: ["node-a"])), allowed: Self.allowed, now: 12))
        #expect(r.store == [.logBounds(from: 3)])
        r = m.step(.stored(.bounds(oldest: 1, newest: 4), now: 13))
        #expect(r.frames.isEmpty)
        r = m.step(.tick(allowed: Self.allowed, now: 14))
        #expect(r.store.contains(.readLog(from: 3, origins: ["node-a"], max: 500, maxBytes: 16 << 20)))
        #expect(r.store.contains(.hold(peer: "node-b", from: 3)))
        r = m.step(.stored(.log(.init(entries: [Self.entry(3), Self.entry(4)], next: 5, oldest: 1, newest: 4, pruned: false, log: "L1")), now: 15))
        #expect(r.frames == [.message(.batch(from: 3, through: 4, entries: [Self.entry(3), Self.entry(4)], newest: 4))])
        r = m.step(.tick(allowed: Self.allowed, now: 16))
        r = m.step(.stored(.log(.init(entries: [], next: 1, oldest: 1, newest: 1, pruned: false, log: "L2")), now: 17))
        #expect(r.close?.reason == "log restarted" && r.close?.refused == false)
    }

    /// A subscriber whose hello says it reads record counts gets this node's counts on ticks
    /// that carry them: when they change and every refresh interval, not on every tick; one
    /// that did not say so (an older version) never gets the frame.
    @Test func recordCountsGoOnlyToSubscribersThatReadThem() {
        var m = Self.machine()
        _ = m.step(.frame(.hello(node: "node-b", time: 1, recordCounts: true), allowed: Self.allowed, now: 10))
        #expect(m.step(.tick(allowed: Self.allowed, now: 11, recordCounts: ["dog": 1])).frames.isEmpty, "before the hello is answered")
        _ = m.step(.stored(.logIdentity("L1"), now: 12))
        #expect(m.sendsRecordCounts)
        #expect(m.step(.tick(allowed: Self.allowed, now: 13, recordCounts: ["dog": 1])).frames == [.message(.recordCounts(["dog": 1]))])
        #expect(m.step(.tick(allowed: Self.allowed, now: 14, recordCounts: ["dog": 1])).frames.isEmpty)
        #expect(m.step(.tick(allowed: Self.allowed, now: 15, recordCounts: ["dog": 2])).frames == [.message(.recordCounts(["dog": 2]))])
        let refresh = 15 + PublisherMachine.recordCountsRefreshMillis
        #expect(m.step(.tick(allowed: Self.allowed, now: refresh, recordCounts: ["dog": 2])).frames == [.message(.recordCounts(["dog": 2]))])

        var old = Self.machine()
        _ = old.step(.frame(.hello(node: "node-b", time: 1), allowed: Self.allowed, now: 10))
        _ = old.step(.stored(.logIdentity("L1"), now: 11))
        #expect(!old.sendsRecordCounts)
        #expect(old.step(.tick(allowed: Self.allowed, now: 12, recordCounts: ["dog": 1])).frames.isEmpty)
    }

    /// A subscriber past the end of the log (the log went back) or before its start is told
    /// to copy; a copy is served with a hold on where it will stream from.
    @Test func aPositionOutsideTheLogAsksForACopy() {
        var m = Self.machine()
        _ = m.step(.frame(.hello(node: "node-b", time: 1, log: nil), allowed: Self.allowed, now: 10))
        _ = m.step(.stored(.logIdentity("L1"), now: 11))
        _ = m.step(.frame(.message(.subscribe(from: 9, origins: ["node-a"])), allowed: Self.allowed, now: 12))
        var r = m.step(.stored(.bounds(oldest: 1, newest: 4), now: 13))
        guard case .message(.pruned(_, let reason?))? = r.frames.first else { Issue.record("\(r.frames)"); return }
        #expect(reason.contains("past the end"))
        r = m.step(.frame(.message(.copyBegin()), allowed: Self.allowed, now: 14))
        #expect(r.store == [.copyTables])
        r = m.step(.stored(.tables(resumeFrom: 5, tables: [], databases: nil), now: 15))
        #expect(r.store == [.hold(peer: "node-b", from: 5)] && r.frames == [.message(.copyTables(resumeFrom: 5, tables: []))])
    }

    /// Identity: a name its certificate does not carry, a name nobody knows, a node removed
    /// from the cluster while subscribed.
    @Test func refusesWhoItMustAndDropsARemovedNode() {
        var liar = Self.machine()
        #expect(liar.step(.frame(.hello(node: "node-c", time: nil, log: nil), allowed: ["node-b", "node-c"], now: 1)).close?.refused == true)
        var unknown = Self.machine()
        #expect(unknown.step(.frame(.hello(node: "node-b", time: nil, log: nil), allowed: [], now: 1)).close?.refused == true)
        var removed = Self.machine()
        _ = removed.step(.frame(.hello(node: "node-b", time: nil, log: nil), allowed: Self.allowed, now: 1))
        _ = removed.step(.stored(.logIdentity("L1"), now: 2))
        let r = removed.step(.tick(allowed: [], now: 2_000))
        #expect(r.close?.refused == true && r.close?.reason.contains("removed") == true)
    }
}
