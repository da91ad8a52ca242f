import Testing
@testable import SkeinCore
@testable import SkeinReplication

@Suite("Peers from routes and hdb_nodes, start times, publisher filters")
struct PeerPlanTests {
    static let routes = [
        ReplicationRoute(hostname: "node-b", host: "127.0.0.2", region: "us"),
        ReplicationRoute(hostname: "node-c", host: "127.0.0.3", region: "eu"),
    ]
    static let records: [JSON] = [
        ["name": "node-a", "url": "wss://127.0.0.1:9933"],
        ["name": "node-b", "url": "wss://127.0.0.2:9933"],
        ["name": "node-d", "url": "wss://127.0.0.4:9944", "start_time": "2026-01-31T12:00:00Z"],
        ["name": "node-e"],  // no url: cannot be dialled
        ["name": "node-f", "url": "http://x"],
    ]

    @Test func learnedNodesJoinTheRoutes() {
        let peers = PeerPlan.peers(routes: Self.routes, records: Self.records, ownName: "node-a", region: nil)
        #expect(peers.map(\.hostname) == ["node-b", "node-c", "node-d"])
        #expect(peers[0] == Self.routes[0], "a route wins over the record of the same node")
        #expect(peers[2].host == "127.0.0.4" && peers[2].port == 9944 && peers[2].startTime == "2026-01-31T12:00:00Z")
        #expect(peers[2].startTimeMillis == 1_769_860_800_000)
    }

    @Test func aRegionOwnsOnlyItsRoutes() {
        #expect(PeerPlan.peers(routes: Self.routes, records: Self.records, ownName: "node-a", region: "eu").map(\.hostname) == ["node-c"])
        #expect(PeerPlan.peers(routes: Self.routes, records: Self.records, ownName: "node-a", region: "ap").isEmpty)
    }

    @Test func whoMaySubscribe() {
        let allowed = PeerPlan.allowedNames(routes: Self.routes, records: Self.records)
        #expect(allowed == ["node-a", "node-b", "node-c", "node-d", "node-e", "node-f"])
        #expect(!PeerPlan.allowedNames(routes: Self.routes, records: []).contains("node-d"))
    }

    @Test func ownRecordMatchesDespiteStoreTimestamps() {
        let own = PeerPlan.ownRecord(name: "node-a", url: "wss://127.0.0.1:9933", databases: ["system", "data"], certificateAuthority: nil)
        var stored = own.objectValue!
        stored["__updatedtime__"] = 5
        #expect(JSON.object(stored).hasFields(of: own))
        stored["url"] = "wss://old:9933"
        #expect(!JSON.object(stored).hasFields(of: own))
        #expect(PeerPlan.routeRecord(Self.routes[0]) == ["name": "node-b", "url": "wss://127.0.0.2:9933"])
    }

    static func entry(_ seq: UInt64, millis: UInt64, origin: String = "node-a") -> AuditEntry {
        AuditEntry(sequence: seq, version: HLCTimestamp(rawValue: millis << 16), origin: origin, user: nil,
                   operation: "insert", table: "dog", ids: [JSON(seq)], records: [["id": JSON(seq)]], previous: [nil])
    }

    @Test func startTimeSkipsOlderEntriesButCoversThem() {
        var publisher = PublisherSession()
        _ = publisher.receive(.subscribe(from: 1, origins: ["node-a"], startTime: 2000), now: 0, oldestRetained: 0)
        let log = [Self.entry(1, millis: 1000), Self.entry(2, millis: 1999), Self.entry(3, millis: 2000), Self.entry(4, millis: 3000, origin: "node-b")]
        let batch = publisher.nextBatch(log: log, newest: 4, now: 0)
        #expect(batch == .batch(from: 1, through: 4, entries: [log[2]], newest: 4))
        var subscriber = SubscriberSession(cursor: 0, origins: ["node-a"], startTime: 2000)
        #expect(subscriber.subscribe == .subscribe(from: 1, origins: ["node-a"], startTime: 2000))
        #expect(subscriber.copyBegin == .copyBegin(startTime: 2000))
        #expect(subscriber.receive(batch!, now: 0) == .apply([log[2]], through: 4))
    }
}

@Suite("Full-copy progress across reconnects")
struct CopyProgressTests {
    @Test func anInterruptedCopyContinuesWhereItStopped() {
        var p = CopyProgress(resumeFrom: 100)
        #expect(p.start(of: "dog").after == nil && p.start(of: "dog").rows == 0)
        p.imported("cat", through: 500, rows: 500)
        p.finish("cat")
        p.imported("dog", through: "k-1000", rows: 1000)
        // The next connection: the peer's log moved on, the stream must still start at the
        // first attempt's position so nothing written during the copy is skipped.
        p.restarted(resumeFrom: 180)
        #expect(p.resumeFrom == 100)
        #expect(p.isFinished("cat") && !p.isFinished("dog"))
        #expect(p.start(of: "dog").after == "k-1000" && p.start(of: "dog").rows == 1000)
        #expect(p.start(of: "owl").after == nil && p.start(of: "owl").rows == 0)
        p.finish("dog")
        #expect(p.table == nil && p.isFinished("dog"))
    }
}
