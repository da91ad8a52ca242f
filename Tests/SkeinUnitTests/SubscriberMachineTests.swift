import SkeinCore
import Testing
@testable import SkeinReplication

/// The subscriber's protocol driven by hand, without sockets or a store: each step's Ready
/// is what a link would do. Reads as the protocol's script (docs/INTERFACES.md §8).
@Suite("SubscriberMachine: the subscriber's protocol as a script")
struct SubscriberMachineTests {
    static let config = SubscriberMachine.Config(node: "node-b", peer: "node-a", database: "data", maxClockSkewMillis: 60_000)

    static func entry(_ seq: UInt64, millis: UInt64 = 1_000) -> AuditEntry {
        AuditEntry(sequence: seq, version: HLCTimestamp(millis: millis, counter: 0), origin: "node-a", user: nil,
                   operation: "insert", table: "dog", ids: [JSON(seq)], records: [["id": JSON(seq)]], previous: [nil])
    }

    /// A new node: hello both ways, no cursor anywhere → first sync under the replicator-wide
    /// turn → copy of one table in two pages → cursor at the copy's position → stream.
    @Test func aNewNodesFirstSyncCopiesThenStreams() {
        var m = SubscriberMachine(config: Self.config)
        var r = m.step(.connected(certificateSerial: nil, now: 100))
        #expect(r.frames == [.hello(node: "node-b", time: 100, recordCounts: true)] && r.store == [.readCursor])
        r = m.step(.stored(.cursor(.none), now: 101))
        #expect(r.isEmpty)
        r = m.step(.frame(.hello(node: "node-a", time: 101, log: "L1"), now: 102))
        #expect(r.store == [.takeFirstSyncTurn, .syncedFromAnyone])
        #expect(m.greeted && m.status.connected && m.status.latencyMillis == 2)
        _ = m.step(.stored(.done, now: 103))
        r = m.step(.stored(.synced(false), now: 103))
        #expect(r.frames == [.message(.copyBegin())])
        #expect(r.logs.first?.message == "first sync of this database: full copy from this peer")
        r = m.step(.frame(.message(.copyTables(resumeFrom: 41, tables: [["name": "dog", "primary_key": "id"]])), now: 104))
        #expect(r.store == [.createTables([["name": "dog", "primary_key": "id"]])])
        r = m.step(.stored(.done, now: 105))
        #expect(r.frames == [.message(.copyPage(table: "dog", after: nil))])
        let row: JSON = ["id": 1, "version": "65536000", "origin": "node-a", "record": ["id": 1]]
        // Two pages in flight: the next page is asked for before this one is imported.
        r = m.step(.frame(.message(.copyRows(table: "dog", rows: [row], last: 1)), now: 106))
        #expect(r.frames == [.message(.copyPage(table: "dog", after: 1))] && r.store == [.importRows(table: "dog", rows: [row])])
        r = m.step(.stored(.done, now: 107))
        #expect(r.isEmpty && m.status.copying == "Copying dog: 1 rows")
        r = m.step(.frame(.message(.copyRows(table: "dog", rows: [], last: nil)), now: 108))
        #expect(r.store == [.importRows(table: "dog", rows: [])])
        r = m.step(.stored(.done, now: 109))
        #expect(r.store == [.apply(entries: [], through: 40, log: "L1", restart: true)])
        r = m.step(.stored(.applied(cursor: 40), now: 110))
        #expect(r.store == [.releaseFirstSyncTurn])
        #expect(r.frames == [.message(.subscribe(from: 41, origins: ["node-a"]))])
        #expect(m.progress == nil && m.status.cursor == 40 && m.status.syncReason == "first sync of this database")
        // Streaming: a batch is applied with the cursor, then acknowledged.
        _ = m.step(.stored(.done, now: 111))
        r = m.step(.frame(.message(.batch(from: 41, through: 42, entries: [Self.entry(41), Self.entry(42)], newest: 42)), now: 112))
        #expect(r.store == [.apply(entries: [Self.entry(41), Self.entry(42)], through: 42, log: "L1", restart: false)])
        r = m.step(.stored(.applied(cursor: 42), now: 113))
        #expect(r.frames == [.message(.ack(through: 42))] && m.status.cursor == 42)
    }

    /// A new node past hello, its first sync's `copy_begin` sent (at time 103).
    static func firstSyncAskingForACopy() -> SubscriberMachine {
        var m = SubscriberMachine(config: config)
        _ = m.step(.connected(certificateSerial: nil, now: 100))
        _ = m.step(.stored(.cursor(.none), now: 101))
        _ = m.step(.frame(.hello(node: "node-a", time: 101, log: "L1"), now: 102))
        _ = m.step(.stored(.done, now: 103))
        _ = m.step(.stored(.synced(false), now: 103))
        return m
    }

    /// A copy's progress in rows of the peer's rows: the `record_count`s of `copy_tables`
    /// summed, the rows imported across tables; both gone when the copy ends. Without the
    /// counts (an older peer) the total stays unknown.
    @Test func aCopyCountsItsRowsAgainstThePeersCounts() {
        var m = Self.firstSyncAskingForACopy()
        let tables: [JSON] = [["name": "cat", "primary_key": "id", "record_count": 2], ["name": "dog", "primary_key": "id", "record_count": 3]]
        _ = m.step(.frame(.message(.copyTables(resumeFrom: 9, tables: tables)), now: 104))
        #expect(m.status.copyTotalRows == 5 && m.status.copyRows == 0)
        _ = m.step(.stored(.done, now: 105))
        let rows: [JSON] = [1, 2].map { ["id": JSON($0), "version": "65536000", "origin": "node-a", "record": ["id": JSON($0)]] }
        _ = m.step(.frame(.message(.copyRows(table: "cat", rows: rows, last: nil)), now: 106))
        _ = m.step(.stored(.done, now: 107))
        _ = m.step(.frame(.message(.copyRows(table: "dog", rows: [rows[0]], last: 1)), now: 108))
        _ = m.step(.stored(.done, now: 109))
        #expect(m.status.copyRows == 3 && m.status.copying == "Copying dog: 1 rows")
        _ = m.step(.frame(.message(.copyRows(table: "dog", rows: [], last: nil)), now: 110))
        _ = m.step(.stored(.done, now: 111))
        _ = m.step(.stored(.applied(cursor: 8), now: 112))
        #expect(m.status.copying == nil && m.status.copyRows == nil && m.status.copyTotalRows == nil)

        var older = Self.firstSyncAskingForACopy()
        _ = older.step(.frame(.message(.copyTables(resumeFrom: 9, tables: [["name": "dog", "primary_key": "id"]])), now: 104))
        #expect(older.status.copyTotalRows == nil && older.status.copyRows == 0)
    }

    /// The peer's record counts are kept for the status whatever the link is doing (here in
    /// the middle of a copy), and kept as the last known after a disconnect.
    @Test func thePeersRecordCountsAreShownWhileCopying() {
        var m = Self.firstSyncAskingForACopy()
        let r = m.step(.frame(.message(.recordCounts(["dog": 3])), now: 104))
        #expect(r.close == nil && r.frames.isEmpty && r.store.isEmpty)
        #expect(m.status.peerRecordCounts == ["dog": 3] && m.status.peerRecordCountsAt == 104)
        _ = m.step(.frame(.message(.copyTables(resumeFrom: 9, tables: [["name": "dog", "primary_key": "id", "record_count": 3]])), now: 105))
        #expect(m.status.copyTotalRows == 3, "the copy goes on")
        m.disconnected()
        #expect(m.status.peerRecordCounts == ["dog": 3])
    }

    /// A stored cursor into another log than the one the peer announces: resync (a copy), not
    /// a subscribe that would skip the new log's first entries.
    @Test func aCursorIntoAnOldLogResynchronises() {
        var m = SubscriberMachine(config: Self.config)
        _ = m.step(.connected(certificateSerial: nil, now: 100))
        _ = m.step(.stored(.cursor(ReplicationCursor(sequence: 11, log: "old")), now: 101))
        let r = m.step(.frame(.hello(node: "node-a", time: 101, log: "new"), now: 102))
        #expect(r.frames == [.message(.copyBegin())] && r.store.isEmpty)
        #expect(r.logs.first?.message == "resynchronising with a full copy")
        #expect(m.status.syncReason?.contains("log restarted") == true)
    }

    /// Identity: a peer stating another name, or a revoked certificate, is refused.
    @Test func aPeerWithAnotherNameOrARevokedCertificateIsRefused() {
        var m = SubscriberMachine(config: Self.config)
        _ = m.step(.connected(certificateSerial: nil, now: 1))
        let r = m.step(.frame(.hello(node: "node-z", time: nil, log: nil), now: 2))
        #expect(r.close?.refused == true && r.close?.reason.contains("node-z") == true)
        var revoked = SubscriberMachine(config: .init(node: "node-b", peer: "node-a", database: "data", revokedSerials: ["abc"]))
        #expect(revoked.step(.connected(certificateSerial: "abc", now: 1)).close?.refused == true)
    }
}
