import SkeinCore
import SkeinReplication

/// What one seed exercised: a test asserts that every kind occurred over a run of seeds.
struct FaultCounts: Equatable, CustomStringConvertible {
    var writes = 0, crashes = 0, restarts = 0
    var prunesByAge = 0, prunesBySize = 0, holes = 0
    var fullCopies = 0, copiesInterrupted = 0, copiesResumed = 0
    var wipes = 0, recreates = 0, resyncs = 0
    var clockJumps = 0, skewPauses = 0, bootstraps = 0
    var tombstonesPruned = 0, tablesCreated = 0, bigRows = 0, rowsRefused = 0, batchesJoined = 0
    var feedReads = 0, feedDrops = 0

    static var kinds: [(name: String, count: KeyPath<FaultCounts, Int>)] { [
        ("writes", \.writes), ("crashes", \.crashes), ("restarts", \.restarts), ("prunes_by_age", \.prunesByAge),
        ("prunes_by_size", \.prunesBySize), ("holes", \.holes), ("full_copies", \.fullCopies),
        ("copies_interrupted", \.copiesInterrupted), ("copies_resumed", \.copiesResumed), ("wipes", \.wipes),
        ("recreates", \.recreates), ("resyncs", \.resyncs), ("clock_jumps", \.clockJumps), ("skew_pauses", \.skewPauses),
        ("bootstraps", \.bootstraps), ("tombstones_pruned", \.tombstonesPruned),
        ("tables_created", \.tablesCreated), ("big_rows", \.bigRows), ("rows_refused", \.rowsRefused),
        ("batches_joined", \.batchesJoined), ("feed_reads", \.feedReads), ("feed_drops", \.feedDrops),
    ] }

    var description: String { Self.kinds.map { "\($0.name)=\(self[keyPath: $0.count])" }.joined(separator: " ") }

    static func + (a: FaultCounts, b: FaultCounts) -> FaultCounts {
        var sum = a
        sum.writes += b.writes; sum.crashes += b.crashes; sum.restarts += b.restarts
        sum.prunesByAge += b.prunesByAge; sum.prunesBySize += b.prunesBySize; sum.holes += b.holes
        sum.fullCopies += b.fullCopies; sum.copiesInterrupted += b.copiesInterrupted; sum.copiesResumed += b.copiesResumed
        sum.wipes += b.wipes; sum.recreates += b.recreates; sum.resyncs += b.resyncs
        sum.clockJumps += b.clockJumps; sum.skewPauses += b.skewPauses; sum.bootstraps += b.bootstraps
        sum.tombstonesPruned += b.tombstonesPruned; sum.tablesCreated += b.tablesCreated
        sum.bigRows += b.bigRows; sum.rowsRefused += b.rowsRefused; sum.batchesJoined += b.batchesJoined
        sum.feedReads += b.feedReads; sum.feedDrops += b.feedDrops
        return sum
    }
}

/// A deterministic run of N nodes in a full mesh under a hostile network: stream frames
/// dropped, duplicated, reordered and delayed; nodes crashed and restarted; logs pruned (by
/// age and size) and holed; full copies interrupted and resumed; nodes wiped and databases
/// re-created (new log identities); clocks jumping a day either way; every node bootstrapping
/// its own admin. The subscriber side is the replicator's `SubscriberMachine`, the publisher
/// side its `PublisherSession`, the store side `ReplicaMerge`: the simulation only moves
/// frames and answers store commands. Everything random comes from one seed.
struct Simulation {
    struct Message {
        /// The connection it travels on (`subscriber|publisher`) and its generation: a
        /// reconnect discards frames of the old connection.
        let link: String
        let toPublisher: Bool
        let deliverAt: UInt64
        let generation: UInt64
        let frame: ReplicationFrame
    }

    static let maxClockSkewMillis: UInt64 = 60_000
    static let day: Int64 = 86_400_000
    static let copyPageRows = 5
    static let reconnectMillis: UInt64 = 300
    /// Tombstones younger than this stay (the replicator uses 2 x maxClockSkew): longer than
    /// the spread of the nodes' base clocks, so a wiped node's new writes are newer anyway.
    static let tombstoneMinAgeMillis: UInt64 = 4000
    /// Sizes in the simulation's bytes, in the real system's proportions (64 MB messages,
    /// 48 MB entries, 16 MB batches and copy pages): a batch or page of big rows must be cut
    /// by bytes to fit, and a write whose entry could never fit is refused by the store.
    static let frameLimit = 6400
    static let maxEntryBytes = 4800
    static let batchBytes = 1600
    static let copyPageBytes = 1600

    var rng: SimRandom
    var nodes: [SimNode]
    var network: [Message] = []
    var now: UInt64 = 1_000_000_000
    /// Every acknowledged write (and bootstrap write), from every node.
    var history: [ReplicatedWrite] = []
    var hostile = true
    let keys: [JSON]
    var faults = FaultCounts()
    /// Problems found while running (a clock dragged past the skew bound, a closed link).
    var violations: [String] = []
    private var generations: [String: UInt64] = [:]
    /// Links whose connection ended, and when they dial again.
    private var reconnectAt: [String: UInt64] = [:]
    private let baseSkew: [Int64]
    /// Nodes whose clock ever jumped: their own clocks may legitimately run ahead.
    private var jumped: Set<Int> = []
    private var forwardJump = false

    init(seed: UInt64, nodeCount: Int, keyCount: Int = 12) {
        rng = SimRandom(seed: seed)
        var r = rng
        let skews = (0..<nodeCount).map { _ in Int64(r.int(-1500..<1501)) }
        baseSkew = skews
        allNames = Set((0..<nodeCount).map { "node-\($0)" })
        nodes = (0..<nodeCount).map { i in SimNode(name: "node-\(i)", skewMillis: skews[i], logID: "log-\(i)-\(r.next() % 1_000_000)") }
        rng = r
        keys = (0..<keyCount).map { JSON($0) } + [SimNode.admin]
        for i in nodes.indices { bootstrap(i) }
        for i in nodes.indices { connect(i) }
    }

    func index(_ name: String) -> Int { nodes.firstIndex { $0.name == name }! }

    static func linkKey(subscriber: String, publisher: String) -> String { subscriber + "|" + publisher }

    func ends(_ link: String) -> (subscriber: Int, publisher: Int) {
        if let known = Self.endsCache[link] { return known }
        let parts = link.split(separator: "|").map(String.init)
        return (index(parts[0]), index(parts[1]))
    }

    /// Node names are `node-N`, so a link's ends never change: parse each key once.
    private static let endsCache: [String: (subscriber: Int, publisher: Int)] = {
        var out: [String: (Int, Int)] = [:]
        for i in 0..<8 { for j in 0..<8 where i != j { out["node-\(i)|node-\(j)"] = (i, j) } }
        return out
    }()

    mutating func bootstrap(_ i: Int) {
        if let w = nodes[i].bootstrapAdmin() {
            history.append(w)
            faults.bootstraps += 1
        }
    }

    /// A (re)started node connects with every peer that is up, both ways.
    mutating func connect(_ i: Int) {
        for j in nodes.indices where j != i && nodes[j].up && nodes[i].up {
            dial(subscriber: i, publisher: j)
            dial(subscriber: j, publisher: i)
        }
    }

    /// A new connection from subscriber `i` to publisher `j`: the publisher gets a fresh
    /// session, the subscriber's machine (kept across reconnects) sends hello.
    mutating func dial(subscriber i: Int, publisher j: Int) {
        let peer = nodes[j].name
        let key = Self.linkKey(subscriber: nodes[i].name, publisher: peer)
        generations[key, default: 0] += 1
        reconnectAt[key] = nil
        nodes[j].publishers[nodes[i].name] = PublisherMachine(
            config: .init(node: peer, database: "data", maxInFlight: 3, batchSize: 5, batchBytes: Self.batchBytes, resendAfterMillis: 800,
                          holdRefreshMillis: 1000),
            certificateNames: [nodes[i].name], certificateSerial: nil)
        if nodes[i].subscribers[peer] == nil {
            nodes[i].subscribers[peer] = SubscriberMachine(config: .init(
                node: nodes[i].name, peer: peer, database: "data", maxClockSkewMillis: Self.maxClockSkewMillis, resubscribeAfterMillis: 1500))
        }
        step(key, .connected(certificateSerial: nil, now: nodes[i].physical(now)))
    }

    /// Feeds subscriber machine `key` one input and carries out its Ready: frames onto the
    /// network, store commands against the node (each answered at once), logs counted, a
    /// close ends the connection.
    mutating func step(_ key: String, _ input: SubscriberMachine.Input) {
        let (i, j) = ends(key)
        let peer = nodes[j].name
        guard var machine = nodes[i].subscribers[peer] else { return }
        var ready = machine.step(input)
        var queue: [SubscriberMachine.StoreCommand] = []
        while true {
            for frame in ready.frames { send(key, toPublisher: true, frame) }
            for event in ready.logs { count(event) }
            if let close = ready.close {
                // Honest publishers never break the protocol; a copy waiting for the clock
                // (or any other close) dials again.
                if close.reason.contains("broke the protocol") || close.refused { violations.append("\(key): \(close.reason)") }
                nodes[i].subscribers[peer] = machine
                return hangUp(key)
            }
            queue += ready.store
            guard !queue.isEmpty else { break }
            let result = answer(queue.removeFirst(), node: i, peer: peer)
            ready = machine.step(.stored(result, now: nodes[i].physical(now)))
        }
        nodes[i].subscribers[peer] = machine
        nodes[i].horizon.watermark(peer: peer, database: "data", machine.status.watermark)
    }

    mutating func count(_ event: SubscriberMachine.LogEvent) {
        switch event.message {
        case "full copy started": faults.fullCopies += 1
        case "full copy resumed": faults.fullCopies += 1; faults.copiesResumed += 1
        case "resynchronising with a full copy": faults.resyncs += 1
        case "peer clock too far ahead: replication paused": faults.skewPauses += 1
        default: break
        }
    }

    /// What the node's store answers (the LMDB store's rules, through `ReplicaMerge`).
    mutating func answer(_ command: SubscriberMachine.StoreCommand, node i: Int, peer: String) -> SubscriberMachine.StoreResult {
        switch command {
        case .readCursor:
            return .cursor(nodes[i].cursors[peer] ?? .none)
        case .takeFirstSyncTurn, .releaseFirstSyncTurn, .createDatabases:
            return .done
        case .createTables(let descriptions):
            // As the link: store create_table for each missing one (logged here).
            for d in descriptions { if let name = d["name"]?.stringValue { nodes[i].createTable(name, now: now) } }
            return .done
        case .syncedFromAnyone:
            return .synced(nodes[i].cursors.values.contains { $0.sequence > 0 })
        case .apply(let entries, let through, let log, let restart):
            for e in entries { nodes[i].observe(e.version, now: now) }
            checkClock(i)
            let outcome = try! ReplicaMerge.apply(entries, from: peer, log: log, through: through, restart: restart, into: &nodes[i])
            return .applied(cursor: outcome.cursor.sequence)
        case .importRows(let table, let rows):
            let writes = ReplicatedWrite.fromCopyRows(table: table, rows: rows)
            for w in writes { nodes[i].observe(w.version.version, now: now) }
            checkClock(i)
            try! ReplicaMerge.merge(writes, into: &nodes[i], loggedAs: nil)
            return .done
        }
    }

    /// Feeds publisher machine `key` one input and carries out its Ready against the node
    /// (auditd's reads and holds, the store's copy pages), each command answered at once.
    /// Returns whether it sent a batch (a tick whose read sent one may be followed by another).
    @discardableResult
    mutating func publish(_ key: String, _ input: PublisherMachine.Input) -> Bool {
        let (i, j) = ends(key)
        let subscriber = nodes[i].name
        guard var machine = nodes[j].publishers[subscriber] else { return false }
        var ready = machine.step(input)
        var sent = false
        var queue: [PublisherMachine.StoreCommand] = []
        while true {
            for frame in ready.frames {
                if case .message(.batch) = frame { sent = true }
                send(key, toPublisher: false, frame)
            }
            if let close = ready.close {
                if close.refused { violations.append("\(key): the publisher refused: \(close.reason)") }
                nodes[j].publishers[subscriber] = machine
                hangUp(key)
                return false
            }
            queue += ready.store
            guard !queue.isEmpty else { break }
            ready = machine.step(.stored(serve(queue.removeFirst(), node: j, log: machine.announcedLog), now: now))
        }
        nodes[j].publishers[subscriber] = machine
        nodes[j].horizon.reported(peer: subscriber, database: "data", machine.status.peerFrontier)
        return sent
    }

    /// What the publishing node's auditd and store answer.
    /// `log`: the log identity the connection announced.
    mutating func serve(_ command: PublisherMachine.StoreCommand, node j: Int, log: String?) -> PublisherMachine.StoreResult {
        switch command {
        case .logIdentity:
            return .logIdentity(nodes[j].logID)
        case .logBounds:
            return .bounds(oldest: nodes[j].retainedFrom, newest: nodes[j].lastSequence)
        case .readLog(let from, let origins, let max, let maxBytes):
            // A caught-up peer is answered from the commit feed, as the replicator does.
            if let log, let served = fromFeed(node: j, log: log, from: from, origins: origins, max: max, maxBytes: maxBytes) { return .log(served) }
            let read = nodes[j].readLog(from: from, max: max, maxBytes: maxBytes)
            return .log(.init(entries: read.entries.filter { origins.contains($0.origin) }, next: read.next, oldest: nodes[j].retainedFrom,
                              newest: nodes[j].lastSequence, pruned: read.missing, log: nodes[j].logID, clock: nodes[j].clockHighWater.rawValue))
        case .hold(let peer, let from):
            nodes[j].holds[peer] = (from, now)
            return .done
        case .copyTables:
            return .tables(resumeFrom: nodes[j].lastSequence + 1,
                           tables: nodes[j].tables.keys.sorted().map { ["name": .string($0), "primary_key": "id"] }, databases: nil)
        case .exportPage(let table, let after, _):
            // At most copyPageRows rows and about copyPageBytes (never fewer than one row).
            let all = nodes[j].exportedRows(table).filter { after == nil || $0.id.text > after!.text }
            var rows: [ReplicatedWrite] = [], bytes = 0
            for w in all where rows.count < Self.copyPageRows {
                if case .put(let v) = w.change { bytes += SimNode.size(ofRecord: v) }
                if bytes > Self.copyPageBytes && !rows.isEmpty { break }
                rows.append(w)
            }
            let last = rows.count < all.count ? rows.last?.id : nil
            return .page(table: table, rows: rows.map(\.copyRow), last: last, oversized: [])
        }
    }

    /// A read answered by node `j`'s `RecentLog` (what its store's commit feed delivered),
    /// nil when it cannot answer it (the replicator then asks auditd). Every entry it serves
    /// that the log still holds must be that entry, and the read must end where the log's
    /// would when no byte bound cuts it: a violation otherwise.
    mutating func fromFeed(node j: Int, log: String, from: UInt64, origins: [String], max: Int, maxBytes: Int) -> PublisherMachine.LogRead? {
        guard case .served(var read, let raw) = nodes[j].recent.read(from: from, log: log, origins: Set(origins), max: max,
                                                                  maxBytes: maxBytes, oldest: nodes[j].retainedFrom) else { return nil }
        guard let whole = raw.whole(read.entries) else {
            violations.append("\(nodes[j].name): the feed's entries \(read.entries.map(\.sequence)) do not read back")
            return nil
        }
        for e in whole {
            let held = nodes[j].readLog(from: e.sequence, max: 1).entries.first
            if let held, held.sequence == e.sequence, (held.version, held.origin, held.table, held.ids) != (e.version, e.origin, e.table, e.ids) {
                violations.append("\(nodes[j].name): the feed served \(e.origin)@\(e.version) as entry \(e.sequence), the log holds \(held.origin)@\(held.version)")
            }
        }
        if read.log == nodes[j].logID && read.newest > nodes[j].lastSequence {
            violations.append("\(nodes[j].name): the feed answered for log \(read.log) through \(read.newest), the log is \(nodes[j].logID) through \(nodes[j].lastSequence)")
        }
        read.entries = whole
        faults.feedReads += 1
        return read
    }

    /// Every node may subscribe (the names never change).
    var names: Set<String> { allNames }
    private let allNames: Set<String>

    /// The connection of `key` ends (both sides notice); the subscriber dials again shortly.
    mutating func hangUp(_ key: String) {
        let (i, j) = ends(key)
        generations[key, default: 0] += 1
        if nodes[i].subscribers[nodes[j].name]?.progress != nil { faults.copiesInterrupted += 1 }
        nodes[i].subscribers[nodes[j].name]?.disconnected()
        nodes[j].publishers[nodes[i].name] = nil
        nodes[j].holds[nodes[i].name] = nil
        nodes[j].horizon.reported(peer: nodes[i].name, database: "data", nil)
        reconnectAt[key] = now + Self.reconnectMillis
    }

    /// Stream frames may be dropped, duplicated and delayed (the sessions must cope); the
    /// handshake and copy frames are delivered once (a connection does not lose them; a
    /// lost connection is a crash or a hang-up).
    mutating func send(_ key: String, toPublisher: Bool, _ frame: ReplicationFrame) {
        let generation = generations[key, default: 0]
        var lossy = false
        if case .message(let m) = frame {
            switch m {
            case .subscribe, .ack, .batch, .pruned, .frontier: lossy = true
            default: break
            }
        }
        if let bytes = Self.size(of: frame), bytes > Self.frameLimit {
            violations.append("\(key): a \(bytes)-byte frame over the \(Self.frameLimit)-byte message limit")
        }
        if hostile && lossy && rng.chance(0.05) { return }  // dropped
        let copies = hostile && lossy && rng.chance(0.05) ? 2 : 1  // duplicated
        for _ in 0..<copies {
            let delay = UInt64(hostile ? rng.int(1..<200) : rng.int(1..<20))  // delayed, so reordered
            network.append(Message(link: key, toPublisher: toPublisher, deliverAt: now + delay, generation: generation, frame: frame))
        }
    }

    /// The size of a frame that carries records (batches and copy pages), else nil.
    static func size(of frame: ReplicationFrame) -> Int? {
        switch frame {
        case .message(.batch(_, _, let entries, _, _)): return 100 + entries.reduce(0) { $0 + SimNode.size(of: $1) }
        case .message(.copyRows(_, let rows, _, _)): return 100 + rows.reduce(0) { $0 + SimNode.size(ofRecord: $1["record"] ?? .null) }
        default: return nil
        }
    }

    // MARK: Steps

    mutating func step() {
        now += UInt64(rng.int(1..<25))
        if hostile {
            if rng.chance(0.3) { localWrite() }
            if rng.chance(0.004) { crashSomeone() }
            if rng.chance(0.02) { restartSomeone() }
            if rng.chance(0.004) { pruneSomeone() }
            if rng.chance(0.002) { punchHole() }
            if rng.chance(0.04) { wipeOrRecreate() }
            if rng.chance(0.0006) { jumpClock() }
            if rng.chance(0.002) { createTable() }
            if rng.chance(0.01) { toggleFeedDrops() }
        }
        pruneTombstones(on: Int(now % UInt64(nodes.count)))
        deliverDue()
        for (key, at) in reconnectAt.sorted(by: { $0.key < $1.key }) where at <= now {
            let (i, j) = ends(key)
            if nodes[i].up && nodes[j].up { dial(subscriber: i, publisher: j) } else { reconnectAt[key] = nil }
        }
        for i in nodes.indices where nodes[i].up { pump(i) }
    }

    /// The replicator's tombstone pruning on one node (what its horizon allows).
    mutating func pruneTombstones(on i: Int) {
        guard nodes[i].up, let through = nodes[i].horizon.horizon(database: "data", peers: peers(of: i), now: nodes[i].physical(now),
                                                                   minAgeMillis: Self.tombstoneMinAgeMillis) else { return }
        faults.tombstonesPruned += nodes[i].pruneTombstones(through: through)
    }

    /// Everyone else (a full mesh).
    func peers(of i: Int) -> Set<String> { allNames.subtracting([nodes[i].name]) }

    mutating func localWrite() {
        let live = nodes.indices.filter { nodes[$0].up }
        guard let i = live.randomElement(using: &rng) else { return }
        localWrite(on: i)
    }

    mutating func localWrite(on i: Int) {
        // Table `u` once this node has it (created here or learned from a peer).
        let table = nodes[i].tables["u"] != nil && rng.chance(0.4) ? "u" : "t"
        let id = keys.randomElement(using: &rng)!
        guard table == "t" || id != SimNode.admin else { return }
        let deleting = id != SimNode.admin && nodes[i].tables[table]?[id]?.value != nil && rng.chance(0.25)
        var value: JSON? = deleting ? nil : ["id": id, "v": JSON(rng.int(0..<1_000_000)), "by": .string(nodes[i].name)]
        if !deleting && id != SimNode.admin && rng.chance(0.05) {
            // A big row: near the message limit, or over what one entry may be (the store
            // refuses that write: it is never acknowledged, so it is not in the history).
            let pad = rng.int(1_000..<(Self.maxEntryBytes + 800))
            value = value?.adding("pad", .string(String(repeating: "x", count: pad)))
            if SimNode.size(ofRecord: value!) + 120 > Self.maxEntryBytes {
                faults.rowsRefused += 1
                return
            }
            faults.bigRows += 1
        }
        history.append(nodes[i].write(table: table, id: id, value: value, now: now))
        faults.writes += 1
    }

    /// A schema change: a node creates table `u` (another may do the same meanwhile). Its
    /// peers learn it from its log, from a copy, or from a record entry of `u` arriving
    /// from a third node first (the entry names the primary key).
    mutating func createTable() {
        let candidates = nodes.indices.filter { nodes[$0].up && nodes[$0].tables["u"] == nil }
        guard let i = candidates.randomElement(using: &rng) else { return }
        nodes[i].createTable("u", now: now)
        faults.tablesCreated += 1
    }

    /// One node's commit feed starts or stops dropping what its store publishes (a full
    /// queue): its replicator's `RecentLog` sees gaps.
    mutating func toggleFeedDrops() {
        let i = rng.int(0..<nodes.count)
        nodes[i].feedDrops.toggle()
        if nodes[i].feedDrops { faults.feedDrops += 1 }
    }

    mutating func crashSomeone() {
        let live = nodes.indices.filter { nodes[$0].up }
        guard live.count > 1, let i = live.randomElement(using: &rng) else { return }
        crash(i)
        faults.crashes += 1
    }

    /// Every connection of node `i` ends; its sessions and machines are gone.
    mutating func crash(_ i: Int) {
        for j in nodes.indices where j != i {
            for key in [Self.linkKey(subscriber: nodes[i].name, publisher: nodes[j].name), Self.linkKey(subscriber: nodes[j].name, publisher: nodes[i].name)] {
                hangUp(key)
                reconnectAt[key] = nil
            }
        }
        nodes[i].crash()
    }

    mutating func restartSomeone() {
        let down = nodes.indices.filter { !nodes[$0].up }
        guard let i = down.randomElement(using: &rng) else { return }
        restart(i)
        faults.restarts += 1
    }

    mutating func restart(_ i: Int) {
        nodes[i].up = true
        connect(i)
    }

    /// Retention: by age (entries older than a moment ago) or by size (the oldest part).
    mutating func pruneSomeone() {
        let i = rng.int(0..<nodes.count)
        guard nodes[i].log.count > 1 else { return }
        if rng.chance(0.5) {
            // Spares what a connected peer still needs (holds refreshed lately).
            let keepFrom = nodes[i].holds.values.filter { now < $0.refreshed + 3000 }.map(\.from).min()
            nodes[i].prune(olderThan: nodes[i].physical(now) - UInt64(rng.int(50..<600)), keepFrom: keepFrom)
            faults.prunesByAge += 1
        } else {
            nodes[i].prune(count: rng.int(1..<(nodes[i].log.count / 2 + 2)))
            faults.prunesBySize += 1
        }
    }

    /// `delete_audit_logs_before` on one table: entries in the middle of the log disappear.
    mutating func punchHole() {
        let i = rng.int(0..<nodes.count)
        let count = nodes[i].log.count
        guard count >= 6 else { return }
        let start = rng.int(1..<(count - 3))
        nodes[i].punchHole(start..<(start + rng.int(1..<3)))
        faults.holes += 1
    }

    /// A node's disk is replaced, or one database is dropped locally and created again: a
    /// new log under a new identity. Only once every peer has what the node wrote (what it
    /// wrote and nobody pulled is lost with the disk, which is no replication bug).
    mutating func wipeOrRecreate() {
        let i = rng.int(0..<nodes.count)
        // A node whose clock jumped back does not also lose its disk: a wiped node's new
        // writes must be newer than the tombstones pruned before (see TombstoneHorizon).
        guard nodes[i].up, nodes[i].skewMillis == baseSkew[i], nodes.indices.allSatisfy({ j in
            j == i || (nodes[j].up && (nodes[j].cursors[nodes[i].name].map { $0.log == nodes[i].logID && $0.sequence >= nodes[i].lastSequence } ?? false))
        }) else { return }
        let newLog = "log-\(i)-\(rng.next() % 1_000_000)"
        let oldLast = nodes[i].lastSequence
        crash(i)
        nodes[i].up = true
        if rng.chance(0.5) {
            nodes[i].wipe(newLogID: newLog)
            nodes[i].up = true
            faults.wipes += 1
        } else {
            nodes[i].recreate(newLogID: newLog)
            faults.recreates += 1
        }
        bootstrap(i)
        // The new log is loaded past where the peers' cursors into the old one stand, so a
        // cursor taken for a position in the new log would skip its first entries.
        let target = oldLast + UInt64(rng.int(1..<6))
        while nodes[i].lastSequence < target { localWrite(on: i) }
        connect(i)
    }

    /// One node's wall clock jumps a day forward or back (or back to normal).
    mutating func jumpClock() {
        let i = rng.int(0..<nodes.count)
        if nodes[i].skewMillis != baseSkew[i] {
            nodes[i].skewMillis = baseSkew[i]
        } else {
            let forward = rng.chance(0.5)
            nodes[i].skewMillis += forward ? Self.day : -Self.day
            if forward { forwardJump = true }
        }
        jumped.insert(i)
        faults.clockJumps += 1
    }

    mutating func deliverDue() {
        var due: [Message] = []
        network.removeAll { m in
            if m.deliverAt <= now { due.append(m); return true }
            return false
        }
        due.shuffle(using: &rng)  // reordered
        // A subscriber's link takes what queued up for it at once and joins consecutive
        // batches into one apply (`ReceivedFrame.coalesce`), as the replicator's does.
        var toSubscribers: [String: [Message]] = [:]
        for m in due where !m.toPublisher { toSubscribers[m.link, default: []].append(m) }
        var joined: Set<String> = []
        for m in due {
            guard !m.toPublisher else { deliver(m); continue }
            guard joined.insert(m.link).inserted, let queued = toSubscribers[m.link] else { continue }
            for generation in Set(queued.map(\.generation)).sorted() {
                let frames = queued.filter { $0.generation == generation }.map { ReceivedFrame(frame: $0.frame) }
                let coalesced = ReceivedFrame.coalesce(frames, maxBytes: .max)
                faults.batchesJoined += frames.count - coalesced.count
                for f in coalesced {
                    deliver(Message(link: m.link, toPublisher: false, deliverAt: now, generation: generation, frame: f.frame))
                }
            }
        }
    }

    mutating func deliver(_ m: Message) {
        let (i, j) = ends(m.link)
        guard nodes[i].up, nodes[j].up, generations[m.link, default: 0] == m.generation else { return }  // an old connection's frame
        if !m.toPublisher {
            return step(m.link, .frame(m.frame, now: nodes[i].physical(now)))
        }
        publish(m.link, .frame(m.frame, allowed: names, now: now))
    }

    mutating func reply(_ key: String, _ frame: ReplicationFrame) { send(key, toPublisher: false, frame) }

    /// A node whose clock never jumped must never be dragged further ahead of its own time
    /// than the skew bound by what it applied.
    mutating func checkClock(_ i: Int) {
        guard !jumped.contains(i) else { return }
        let limit = nodes[i].physical(now) + Self.maxClockSkewMillis
        if nodes[i].clock.last.millis > limit {
            violations.append("\(nodes[i].name)'s clock was dragged to \(nodes[i].clock.last.millis), past \(limit)")
        }
    }

    /// Lets each session send what is due: batches (as auditd reads them: only the asked
    /// origins, stopping at a hole), resends; each subscriber machine's tick.
    mutating func pump(_ i: Int) {
        for peer in nodes[i].publishers.keys.sorted() {
            // Each tick reads the log once when the window has room: tick until it stops asking.
            let key = Self.linkKey(subscriber: peer, publisher: nodes[i].name)
            var reads = 0
            while reads < 8, publish(key, .tick(allowed: names, now: now)) { reads += 1 }
        }
        for peer in nodes[i].subscribers.keys.sorted() {
            let frontier = nodes[i].horizon.frontier(database: "data", peers: peers(of: i))
            step(Self.linkKey(subscriber: nodes[i].name, publisher: peer), .tick(now: nodes[i].physical(now), frontier: frontier))
        }
    }

    // MARK: Healing and checking

    /// Restarts every node, puts clocks right (and lets a day pass when one ran a day
    /// ahead, so its writes are no longer in the future), makes the network reliable, runs
    /// until nothing is in flight.
    mutating func heal(maxSteps: Int = 40_000) -> Bool {
        hostile = false
        for i in nodes.indices { nodes[i].skewMillis = baseSkew[i] }
        if forwardJump { now += UInt64(Self.day) + 2 * Self.maxClockSkewMillis }
        for i in nodes.indices where !nodes[i].up { restart(i) }
        for _ in 0..<maxSteps {
            step()
            if network.isEmpty && caughtUp { return true }
        }
        return false
    }

    /// The first link not caught up, for a failure message.
    var behind: String {
        if !reconnectAt.isEmpty { return "links waiting to reconnect: \(reconnectAt.keys.sorted())" }
        for node in nodes {
            for peer in nodes where peer.name != node.name {
                let c = node.cursors[peer.name]
                if c?.log != peer.logID || max(c?.sequence ?? 0, node.subscribers[peer.name]?.status.cursor ?? 0) < peer.lastSequence {
                    return "\(node.name) at \(String(describing: c)) of \(peer.name)'s log \(peer.logID) through \(peer.lastSequence); machine \(node.subscribers[peer.name]?.phaseDescription ?? "none") \(String(describing: node.subscribers[peer.name]?.status)); publisher \(String(describing: peer.publishers[node.name]))"
                }
            }
        }
        return "-"
    }

    var caughtUp: Bool {
        reconnectAt.isEmpty && nodes.allSatisfy { node in
            nodes.allSatisfy { peer in
                guard peer.name != node.name else { return true }
                // The durable cursor may lag over ranges with nothing for us (stored at most
                // every few seconds); the machine's is where the stream stands.
                guard let c = node.cursors[peer.name] else { return false }
                let streamed = max(c.sequence, node.subscribers[peer.name]?.status.cursor ?? 0)
                return c.log == peer.logID && streamed >= peer.lastSequence
            }
        }
    }

    /// The state every node must hold: per table and key, the write with the highest version.
    var expected: [String: [JSON: SimNode.Row]] {
        var out: [String: [JSON: SimNode.Row]] = [:]
        for w in history where LastWriterWins.wins(w.version, over: out[w.table]?[w.id]?.version) {
            if case .put(let v) = w.change { out[w.table, default: [:]][w.id] = (w.version, v) } else { out[w.table, default: [:]][w.id] = (w.version, nil) }
        }
        return out
    }
}
