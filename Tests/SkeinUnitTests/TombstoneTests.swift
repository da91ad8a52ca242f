import Foundation
import SkeinCore
import SkeinLMDB
import Testing
@testable import SkeinReplication
@testable import SkeinStorage

/// Tombstone pruning: the horizon's rule, the protocol that carries watermarks and
/// frontiers, and the store's pruning (docs/INTERFACES.md §8, "Tombstones").
@Suite("Tombstones: horizon, watermarks, frontiers, pruning")
struct TombstoneTests {
    static let peers: Set<String> = ["node-b", "node-c"]
    static func v(_ millis: UInt64) -> UInt64 { HLCTimestamp(millis: millis, counter: 0).rawValue }

    /// Nothing is pruned while any peer's watermark or frontier is unknown; then below the
    /// lowest of them, and never above local time less the minimum age.
    @Test func theHorizonIsTheLowestOfEveryonesFrontierAndAge() {
        var h = TombstoneHorizon()
        #expect(h.frontier(database: "data", peers: []) == nil, "a lone node does not know who may join")
        h.watermark(peer: "node-b", database: "data", Self.v(5_000))
        #expect(h.frontier(database: "data", peers: Self.peers) == nil, "node-c's watermark is unknown")
        h.watermark(peer: "node-c", database: "data", Self.v(4_000))
        #expect(h.frontier(database: "data", peers: Self.peers) == Self.v(4_000))
        #expect(h.horizon(database: "data", peers: Self.peers, now: 100_000, minAgeMillis: 1_000) == nil, "no peer said its frontier")
        h.reported(peer: "node-b", database: "data", Self.v(3_000))
        h.reported(peer: "node-c", database: "data", Self.v(6_000))
        #expect(h.horizon(database: "data", peers: Self.peers, now: 100_000, minAgeMillis: 1_000) == Self.v(3_000))
        #expect(h.horizon(database: "data", peers: Self.peers, now: 3_500, minAgeMillis: 1_000) == Self.v(2_500), "too young")
        #expect(h.horizon(database: "other", peers: Self.peers, now: 100_000, minAgeMillis: 1_000) == nil, "per database")
        h.reported(peer: "node-c", database: "data", nil)  // disconnected
        #expect(h.horizon(database: "data", peers: Self.peers, now: 100_000, minAgeMillis: 1_000) == nil)
    }

    /// The publisher sends its clock only on a batch that reaches the end of its log; the
    /// subscriber takes it as its watermark once the batch is applied, sends its frontier
    /// on ticks, and forgets the watermark when it resynchronises.
    @Test func watermarksAndFrontiersTravelInTheProtocol() {
        var p = PublisherMachine(config: .init(node: "node-a", database: "data", batchSize: 2), certificateNames: ["node-b"], certificateSerial: nil)
        _ = p.step(.frame(.hello(node: "node-b"), allowed: ["node-b"], now: 1))
        _ = p.step(.stored(.logIdentity("L1"), now: 2))
        _ = p.step(.frame(.message(.subscribe(from: 1, origins: ["node-a"])), allowed: ["node-b"], now: 3))
        _ = p.step(.stored(.bounds(oldest: 1, newest: 3), now: 4))
        _ = p.step(.tick(allowed: ["node-b"], now: 5))
        let entries = (1...3).map { SubscriberMachineTests.entry(UInt64($0)) }
        // Three entries, batches of two: the first batch does not reach the end.
        var r = p.step(.stored(.log(.init(entries: entries, next: 4, oldest: 1, newest: 3, pruned: false, log: "L1", clock: Self.v(9))), now: 6))
        #expect(r.frames == [.message(.batch(from: 1, through: 2, entries: Array(entries[0..<2]), newest: 3))])
        _ = p.step(.tick(allowed: ["node-b"], now: 7))
        r = p.step(.stored(.log(.init(entries: [entries[2]], next: 4, oldest: 1, newest: 3, pruned: false, log: "L1", clock: Self.v(9))), now: 8))
        #expect(r.frames == [.message(.batch(from: 3, through: 3, entries: [entries[2]], newest: 3, clock: Self.v(9)))])
        _ = p.step(.frame(.message(.frontier(Self.v(7))), allowed: ["node-b"], now: 9))
        _ = p.step(.frame(.message(.frontier(Self.v(6))), allowed: ["node-b"], now: 10))
        #expect(p.status.peerFrontier == Self.v(7), "a late, lower frontier does not move it back")

        var s = SubscriberMachine(config: SubscriberMachineTests.config)
        _ = s.step(.connected(certificateSerial: nil, now: 100))
        _ = s.step(.stored(.cursor(ReplicationCursor(sequence: 2, log: "L1")), now: 101))
        _ = s.step(.frame(.hello(node: "node-a", time: 101, log: "L1"), now: 102))
        _ = s.step(.frame(.message(.batch(from: 3, through: 3, entries: [entries[2]], newest: 3, clock: Self.v(9))), now: 103))
        #expect(s.status.watermark == nil, "not before the apply committed")
        _ = s.step(.stored(.applied(cursor: 3), now: 104))
        #expect(s.status.watermark == Self.v(9))
        #expect(s.step(.tick(now: 105, frontier: Self.v(8))).frames == [.message(.frontier(Self.v(8)))])
        #expect(s.step(.tick(now: 106, frontier: Self.v(8))).frames.isEmpty, "unchanged: not again at once")
        #expect(s.step(.tick(now: 106 + SubscriberMachine.frontierRefreshMillis, frontier: Self.v(8))).frames.contains(.message(.frontier(Self.v(8)))))
        // The peer's log restarts: what its old stream said no longer holds.
        _ = s.step(.connected(certificateSerial: nil, now: 200))
        _ = s.step(.stored(.cursor(ReplicationCursor(sequence: 3, log: "L1")), now: 201))
        _ = s.step(.frame(.hello(node: "node-a", time: 201, log: "L2"), now: 202))
        #expect(s.status.watermark == nil)
    }

    /// A subscriber already at the end of the log when it subscribes still learns its
    /// watermark: the publisher sends an empty batch with its clock (once per new clock).
    @Test func aCaughtUpSubscriberLearnsTheClockFromAnEmptyBatch() {
        var p = PublisherMachine(config: .init(node: "node-a", database: "data"), certificateNames: ["node-b"], certificateSerial: nil)
        _ = p.step(.frame(.hello(node: "node-b"), allowed: ["node-b"], now: 1))
        _ = p.step(.stored(.logIdentity("L1"), now: 2))
        _ = p.step(.frame(.message(.subscribe(from: 4, origins: ["node-a"])), allowed: ["node-b"], now: 3))
        _ = p.step(.stored(.bounds(oldest: 1, newest: 3), now: 4))
        _ = p.step(.tick(allowed: ["node-b"], now: 5))
        var r = p.step(.stored(.log(.init(entries: [], next: 4, oldest: 1, newest: 3, pruned: false, log: "L1", clock: Self.v(9))), now: 6))
        let heartbeat = ReplicationFrame.message(.batch(from: 4, through: 3, entries: [], newest: 3, clock: Self.v(9)))
        #expect(r.frames == [heartbeat])
        _ = p.step(.tick(allowed: ["node-b"], now: 7))
        r = p.step(.stored(.log(.init(entries: [], next: 4, oldest: 1, newest: 3, pruned: false, log: "L1", clock: Self.v(9))), now: 8))
        #expect(r.frames.isEmpty, "the same clock is not sent again")

        var s = SubscriberMachine(config: SubscriberMachineTests.config)
        _ = s.step(.connected(certificateSerial: nil, now: 100))
        _ = s.step(.stored(.cursor(ReplicationCursor(sequence: 3, log: "L1")), now: 101))
        _ = s.step(.frame(.hello(node: "node-a", time: 101, log: "L1"), now: 102))
        let acked = s.step(.frame(heartbeat, now: 103))
        #expect(acked.frames == [.message(.ack(through: 3))] && acked.store.isEmpty)
        #expect(s.status.watermark == Self.v(9))
    }

    @Test func framesCarryVersionsAsText() throws {
        for frame: ReplicationFrame in [.message(.frontier(UInt64.max - 1)), .message(.batch(from: 1, through: 1, entries: [], newest: 1, clock: 1 << 60))] {
            #expect(try ReplicationFrame(text: frame.text) == frame)
        }
        #expect(throws: ReplicationFrame.DecodeError.self) { try ReplicationFrame(text: #"{"type":"frontier","version":12}"#) }
        #expect(throws: ReplicationFrame.DecodeError.self) { try ReplicationFrame(text: #"{"type":"frontier"}"#) }
    }

    /// The store drops only tombstones not newer than the horizon, in every table.
    @Test func theStorePrunesOnlyOlderTombstones() throws {
        let f = try StorageFixture()
        try f.createTable()
        try f.createTable("cat")
        try f.insert((1...4).map { ["id": JSON($0)] })
        try f.insert((1...2).map { ["id": JSON($0)] }, table: "cat")
        let first = try f.write { txn, ctx in
            _ = try f.env.delete(txn, table: "dog", ids: [1, 2], context: ctx)
            _ = try f.env.delete(txn, table: "cat", ids: [1], context: ctx)
            return ctx.version
        }
        let second = try f.write { txn, ctx in
            _ = try f.env.delete(txn, table: "dog", ids: [3], context: ctx)
            return ctx.version
        }
        #expect(try f.read { try f.env.tombstoneCount($0, "dog") } == 3)
        #expect(try f.read { try f.env.hasTombstones($0, through: first.rawValue - 1) } == false)
        #expect(try f.read { try f.env.hasTombstones($0, through: first.rawValue) } == true)
        let pruned = try f.env.lmdb.write { try f.env.pruneTombstones($0, through: second.rawValue - 1) }
        #expect(pruned == 3 && first < second)
        #expect(try f.read { try f.env.tombstoneCount($0, "dog") } == 1)
        #expect(try f.read { try f.env.tombstoneCount($0, "cat") } == 0)
        #expect(try f.record(4) != nil, "records stay")
    }
}
