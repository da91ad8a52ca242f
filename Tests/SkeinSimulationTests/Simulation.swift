import SkeinCore
import SkeinReplication

/// What one seed exercised: a test asserts that every kind occurred over a run of seeds.
struct FaultCounts: Equatable, CustomStringConvertible {
    var writes = 0, crashes = 0, restarts = 0
    var prunesByAge = 0, prunesBySize = 0, holes = 0
    var fullCopies = 0, copiesInterrupted = 0, copiesResumed = 0
    var wipes = 0, recreates = 0, resyncs = 0
    var clockJumps = 0, skewPauses = 0, bootstraps = 0

    static var kinds: [(name: String, count: KeyPath<FaultCounts, Int>)] { [
        ("writes", \.writes), ("crashes", \.crashes), ("restarts", \.restarts), ("prunes_by_age", \.prunesByAge),
        ("prunes_by_size", \.prunesBySize), ("holes", \.holes), ("full_copies", \.fullCopies),
        ("copies_interrupted", \.copiesInterrupted), ("copies_resumed", \.copiesResumed), ("wipes", \.wipes),
        ("recreates", \.recreates), ("resyncs", \.resyncs), ("clock_jumps", \.clockJumps), ("skew_pauses", \.skewPauses),
        ("bootstraps", \.bootstraps),
    ] }

    var description: String { Self.kinds.map { "\($0.name)=\(self[keyPath: $0.count])" }.joined(separator: " ") }

    static func + (a: FaultCounts, b: FaultCounts) -> FaultCounts {
        var sum = a
        sum.writes += b.writes; sum.crashes += b.crashes; sum.restarts += b.restarts
        sum.prunesByAge += b.prunesByAge; sum.prunesBySize += b.prunesBySize; sum.holes += b.holes
        sum.fullCopies += b.fullCopies; sum.copiesInterrupted += b.copiesInterrupted; sum.copiesResumed += b.copiesResumed
        sum.wipes += b.wipes; sum.recreates += b.recreates; sum.resyncs += b.resyncs
        sum.clockJumps += b.clockJumps; sum.skewPauses += b.skewPauses; sum.bootstraps += b.bootstraps
        return sum
    }
}

/// A deterministic run of N nodes in a full mesh under a hostile network: messages
/// dropped, duplicated, reordered and delayed; nodes crashed and restarted; logs pruned (by
/// age and size) and holed; full copies interrupted and resumed; nodes wiped and databases
/// re-created (new log identities); clocks jumping a day either way; every node bootstrapping
/// its own admin. The sessions, the start decision, the copy progress and the merge are the
/// types the replicator and the store run. Everything random comes from one seed.
struct Simulation {
    struct Message {
        let from: String
        let to: String
        let deliverAt: UInt64
        /// The connection it travels on: a reconnect discards frames of the old one.
        let generation: UInt64
        let message: ReplicationMessage
    }

    /// A subscriber's link to one publisher: the publisher's log identity from `hello`, and a
    /// full copy in progress (its progress survives reconnects, not a crash of the subscriber).
    struct Link {
        var log: String?
        var copy: Copy?
    }

    struct Copy {
        var progress: CopyProgress?
        var awaitingTables = true
        var lastHeard: UInt64
    }

    static let maxClockSkewMillis: UInt64 = 60_000
    static let day: Int64 = 86_400_000
    static let copyPageRows = 5
    static let copyRetryMillis: UInt64 = 1500

    var rng: SimRandom
    var nodes: [SimNode]
    var network: [Message] = []
    var now: UInt64 = 1_000_000_000
    /// Every acknowledged write (and bootstrap write), from every node.
    var history: [ReplicatedWrite] = []
    var hostile = true
    let keys: [JSON]
    var faults = FaultCounts()
    /// Problems found while running (a clock dragged past the skew bound, a rejected batch).
    var violations: [String] = []
    private var generations: [String: UInt64] = [:]
    private var links: [String: Link] = [:]
    private let baseSkew: [Int64]
    /// Nodes whose clock ever jumped: their own clocks may legitimately run ahead.
    private var jumped: Set<Int> = []
    private var forwardJump = false

    init(seed: UInt64, nodeCount: Int, keyCount: Int = 12) {
        rng = SimRandom(seed: seed)
        var r = rng
        let skews = (0..<nodeCount).map { _ in Int64(r.int(-5000..<5001)) }
        baseSkew = skews
        nodes = (0..<nodeCount).map { i in SimNode(name: "node-\(i)", skewMillis: skews[i], logID: "log-\(i)-\(r.next() % 1_000_000)") }
        rng = r
        keys = (0..<keyCount).map { JSON($0) } + [SimNode.admin]
        for i in nodes.indices { bootstrap(i) }
        for i in nodes.indices { connect(i) }
    }

    func index(_ name: String) -> Int { nodes.firstIndex { $0.name == name }! }

    static func linkKey(subscriber: String, publisher: String) -> String { subscriber + "|" + publisher }

    static func fromSubscriber(_ m: ReplicationMessage) -> Bool {
        switch m {
        case .subscribe, .ack, .copyBegin, .copyPage: return true
        case .batch, .pruned, .copyTables, .copyRows: return false
        }
    }

    mutating func bootstrap(_ i: Int) {
        if let w = nodes[i].bootstrapAdmin() {
            history.append(w)
            faults.bootstraps += 1
        }
    }

    /// A (re)started node opens a session with every peer that is up, both ways.
    mutating func connect(_ i: Int) {
        for j in nodes.indices where j != i && nodes[j].up && nodes[i].up {
            subscribe(subscriber: i, publisher: j)
            subscribe(subscriber: j, publisher: i)
        }
    }

    /// One connection from subscriber `i` to publisher `j`: hello (the publisher's log
    /// identity), then the start the real link decides: stream, first sync or resync.
    mutating func subscribe(subscriber i: Int, publisher j: Int) {
        let peer = nodes[j].name
        let key = Self.linkKey(subscriber: nodes[i].name, publisher: peer)
        generations[key, default: 0] += 1
        let stored = nodes[i].cursors[peer] ?? .none
        let peerLog = nodes[j].logID
        var session = SubscriberSession(cursor: stored.sequence, origins: [peer], resubscribeAfterMillis: 1500,
                                        maxClockSkewMillis: Self.maxClockSkewMillis)
        session.heard(now: nodes[i].physical(now))
        nodes[j].publishers[nodes[i].name] = PublisherSession(maxInFlight: 3, batchSize: 5, resendAfterMillis: 800)
        var link = links[key] ?? Link()
        link.log = peerLog
        link.copy = nil
        links[key] = link
        nodes[i].subscribers[peer] = session
        let synced = nodes[i].cursors.values.contains { $0.sequence > 0 }
        switch SubscriberSession.start(cursor: stored, peerLog: peerLog, startTime: nil, syncedFromAnyone: synced) {
        case .subscribe:
            send(from: i, to: j, session.subscribe)
        case .firstSync:
            beginCopy(subscriber: i, publisher: j)
        case .resync:
            faults.resyncs += 1
            beginCopy(subscriber: i, publisher: j)
        }
    }

    mutating func beginCopy(subscriber i: Int, publisher j: Int) {
        let key = Self.linkKey(subscriber: nodes[i].name, publisher: nodes[j].name)
        let progress = pendingProgress[key]
        links[key]?.copy = Copy(progress: progress, awaitingTables: true, lastHeard: now)
        faults.fullCopies += 1
        send(from: i, to: j, .copyBegin())
    }

    /// Copy progress kept by a subscriber between connections (volatile: a crash loses it).
    private var pendingProgress: [String: CopyProgress] = [:]

    mutating func send(from i: Int, to j: Int, _ message: ReplicationMessage) {
        let key = Self.fromSubscriber(message)
            ? Self.linkKey(subscriber: nodes[i].name, publisher: nodes[j].name)
            : Self.linkKey(subscriber: nodes[j].name, publisher: nodes[i].name)
        let generation = generations[key, default: 0]
        if hostile && rng.chance(0.05) { return }  // dropped
        let copies = hostile && rng.chance(0.05) ? 2 : 1  // duplicated
        for _ in 0..<copies {
            let delay = UInt64(hostile ? rng.int(1..<200) : rng.int(1..<20))  // delayed, so reordered
            network.append(Message(from: nodes[i].name, to: nodes[j].name, deliverAt: now + delay, generation: generation, message: message))
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
            if rng.chance(0.004) { wipeOrRecreate() }
            if rng.chance(0.0006) { jumpClock() }
        }
        deliverDue()
        for i in nodes.indices where nodes[i].up { pump(i) }
    }

    mutating func localWrite() {
        let live = nodes.indices.filter { nodes[$0].up }
        guard let i = live.randomElement(using: &rng) else { return }
        let id = keys.randomElement(using: &rng)!
        let deleting = id != SimNode.admin && nodes[i].records[id]?.value != nil && rng.chance(0.25)
        let value: JSON? = deleting ? nil : ["id": id, "v": JSON(rng.int(0..<1_000_000)), "by": .string(nodes[i].name)]
        history.append(nodes[i].write(id: id, value: value, now: now))
        faults.writes += 1
    }

    mutating func crashSomeone() {
        let live = nodes.indices.filter { nodes[$0].up }
        guard live.count > 1, let i = live.randomElement(using: &rng) else { return }
        crash(i)
        faults.crashes += 1
    }

    mutating func crash(_ i: Int) {
        if links.contains(where: { $0.key.hasPrefix(nodes[i].name + "|") && $0.value.copy != nil }) { faults.copiesInterrupted += 1 }
        nodes[i].crash()
        for key in links.keys where key.hasPrefix(nodes[i].name + "|") {
            links[key] = nil
            pendingProgress[key] = nil
        }
        for j in nodes.indices where j != i {
            nodes[j].publishers[nodes[i].name]?.disconnected()
            nodes[j].subscribers[nodes[i].name] = nil
            links[Self.linkKey(subscriber: nodes[j].name, publisher: nodes[i].name)]?.copy = nil
        }
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
            nodes[i].prune(olderThan: nodes[i].physical(now) - UInt64(rng.int(50..<600)))
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
        guard nodes[i].up, nodes.indices.allSatisfy({ j in
            j == i || (nodes[j].up && (nodes[j].cursors[nodes[i].name].map { $0.log == nodes[i].logID && $0.sequence >= nodes[i].lastSequence } ?? false))
        }) else { return }
        let newLog = "log-\(i)-\(rng.next() % 1_000_000)"
        if rng.chance(0.5) {
            crash(i)
            nodes[i].wipe(newLogID: newLog)
            nodes[i].up = true
            faults.wipes += 1
        } else {
            crash(i)
            nodes[i].up = true
            nodes[i].recreate(newLogID: newLog)
            faults.recreates += 1
        }
        bootstrap(i)
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
        for m in due { deliver(m) }
    }

    mutating func deliver(_ m: Message) {
        let to = index(m.to), from = index(m.from)
        guard nodes[to].up, nodes[from].up else { return }  // a down node's connections are gone
        let key = Self.fromSubscriber(m.message)
            ? Self.linkKey(subscriber: m.from, publisher: m.to)
            : Self.linkKey(subscriber: m.to, publisher: m.from)
        guard generations[key, default: 0] == m.generation else { return }  // an old connection's frame
        switch m.message {
        case .subscribe, .ack:
            guard var publisher = nodes[to].publishers[m.from] else { return }
            let reply = publisher.receive(m.message, now: now, oldestRetained: nodes[to].retainedFrom, newest: nodes[to].lastSequence)
            nodes[to].publishers[m.from] = publisher
            if let reply { send(from: to, to: from, reply) }
        case .copyBegin:
            send(from: to, to: from, .copyTables(resumeFrom: nodes[to].lastSequence + 1, tables: [["name": "t", "primary_key": "id"]]))
        case .copyPage(let table, let after):
            let rows = nodes[to].exportedRows.filter { after == nil || $0.id.text > after!.text }.prefix(Self.copyPageRows)
            let last = rows.count == Self.copyPageRows ? rows.last?.id : nil
            send(from: to, to: from, .copyRows(table: table, rows: rows.map(\.copyRow), last: last))
        case .copyTables(let resumeFrom, _, _):
            copyTables(subscriber: to, publisher: from, key: key, resumeFrom: resumeFrom)
        case .copyRows(let table, let rows, let last, _):
            copyRows(subscriber: to, publisher: from, key: key, table: table, rows: rows, last: last)
        case .batch, .pruned:
            guard links[key]?.copy == nil, var subscriber = nodes[to].subscribers[m.from] else { return }
            subscriber.heard(now: nodes[to].physical(now))
            let wasPaused = subscriber.paused != nil
            let action = subscriber.receive(m.message, now: nodes[to].physical(now))
            if !wasPaused && subscriber.paused != nil { faults.skewPauses += 1 }
            nodes[to].subscribers[m.from] = subscriber
            switch action {
            case .apply(let entries, let through):
                for e in entries { nodes[to].observe(e.version, now: now) }
                checkClock(to)
                _ = try! ReplicaMerge.apply(entries, from: m.from, log: links[key]?.log, through: through, into: &nodes[to])
                let ack = nodes[to].subscribers[m.from]!.applied(through: through)
                send(from: to, to: from, ack)
            case .send(let reply):
                send(from: to, to: from, reply)
            case .fullCopy:
                beginCopy(subscriber: to, publisher: from)
            case .reject(let problem):
                violations.append("\(m.to) rejected a batch of \(m.from): \(problem)")
            case .none:
                break
            }
        }
    }

    /// A node whose clock never jumped must never be dragged further ahead of its own time
    /// than the skew bound by what it applied.
    mutating func checkClock(_ i: Int) {
        guard !jumped.contains(i) else { return }
        let limit = nodes[i].physical(now) + Self.maxClockSkewMillis
        if nodes[i].clock.last.millis > limit {
            violations.append("\(nodes[i].name)'s clock was dragged to \(nodes[i].clock.last.millis), past \(limit)")
        }
    }

    mutating func copyTables(subscriber i: Int, publisher j: Int, key: String, resumeFrom: UInt64) {
        guard var copy = links[key]?.copy, copy.awaitingTables else { return }
        let log = links[key]?.log
        if var progress = copy.progress, progress.log == log {
            progress.restarted(resumeFrom: resumeFrom)
            copy.progress = progress
            if !progress.finished.isEmpty || progress.table != nil { faults.copiesResumed += 1 }
        } else {
            copy.progress = CopyProgress(resumeFrom: resumeFrom, log: log)
        }
        copy.awaitingTables = false
        copy.lastHeard = now
        links[key]?.copy = copy
        pendingProgress[key] = copy.progress
        if copy.progress!.isFinished("t") { return finishCopy(subscriber: i, publisher: j, key: key) }
        send(from: i, to: j, .copyPage(table: "t", after: copy.progress!.start(of: "t").after))
    }

    mutating func copyRows(subscriber i: Int, publisher j: Int, key: String, table: String, rows: [JSON], last: JSON?) {
        guard var copy = links[key]?.copy, !copy.awaitingTables, var progress = copy.progress else { return }
        let writes = ReplicatedWrite.fromCopyRows(table: table, rows: rows)
        copy.lastHeard = now
        // The store refuses rows written too far ahead (GroupCommitWriter.observe): the copy
        // waits and retries.
        if writes.contains(where: { $0.version.version.millis > nodes[i].physical(now) + Self.maxClockSkewMillis }) {
            faults.skewPauses += 1
            links[key]?.copy = copy
            return
        }
        for w in writes { nodes[i].observe(w.version.version, now: now) }
        checkClock(i)
        try! ReplicaMerge.merge(writes, into: &nodes[i], loggedAs: nil)
        progress.imported(table, through: last, rows: progress.start(of: table).rows + rows.count)
        if last == nil { progress.finish(table) }
        copy.progress = progress
        links[key]?.copy = copy
        pendingProgress[key] = progress
        if let last { return send(from: i, to: j, .copyPage(table: table, after: last)) }
        finishCopy(subscriber: i, publisher: j, key: key)
    }

    /// Every table copied: the cursor restarts at the copy's position, then the stream.
    mutating func finishCopy(subscriber i: Int, publisher j: Int, key: String) {
        guard let progress = links[key]?.copy?.progress, var session = nodes[i].subscribers[nodes[j].name] else { return }
        let through = progress.resumeFrom > 0 ? progress.resumeFrom - 1 : 0
        _ = try! ReplicaMerge.apply([], from: nodes[j].name, log: links[key]?.log, through: through, restart: true, into: &nodes[i])
        session.copied(resumeFrom: progress.resumeFrom)
        session.heard(now: nodes[i].physical(now))
        nodes[i].subscribers[nodes[j].name] = session
        links[key]?.copy = nil
        pendingProgress[key] = nil
        send(from: i, to: j, session.subscribe)
    }

    /// Lets each session send what is due: batches (as auditd reads them: only the asked
    /// origins, stopping at a hole), resends, re-subscribes; a stalled copy reconnects.
    mutating func pump(_ i: Int) {
        for peer in nodes[i].publishers.keys.sorted() {
            guard var publisher = nodes[i].publishers[peer] else { continue }
            publisher.tick(now: now)
            while publisher.canSend {
                let read = nodes[i].readLog(from: publisher.next, max: publisher.batchSize)
                if read.missing || publisher.next < nodes[i].retainedFrom {
                    publisher.disconnected()
                    send(from: i, to: index(peer), .pruned(oldest: nodes[i].retainedFrom))
                    break
                }
                let entries = read.entries.filter { publisher.origins.contains($0.origin) }
                guard let batch = publisher.nextBatch(log: entries, newest: nodes[i].lastSequence, now: now, readThrough: read.next - 1) else { break }
                send(from: i, to: index(peer), batch)
            }
            nodes[i].publishers[peer] = publisher
        }
        for peer in nodes[i].subscribers.keys.sorted() {
            let j = index(peer)
            let key = Self.linkKey(subscriber: nodes[i].name, publisher: peer)
            if let copy = links[key]?.copy {
                if now >= copy.lastHeard + Self.copyRetryMillis, nodes[j].up {
                    faults.copiesInterrupted += 1
                    subscribe(subscriber: i, publisher: j)  // reconnect; the progress is kept
                }
                continue
            }
            guard var subscriber = nodes[i].subscribers[peer] else { continue }
            if let again = subscriber.tick(now: nodes[i].physical(now)) { send(from: i, to: j, again) }
            nodes[i].subscribers[peer] = subscriber
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

    var caughtUp: Bool {
        links.values.allSatisfy { $0.copy == nil } && nodes.allSatisfy { node in
            nodes.allSatisfy { peer in
                guard peer.name != node.name else { return true }
                guard let c = node.cursors[peer.name] else { return false }
                return c.log == peer.logID && c.sequence >= peer.lastSequence
            }
        }
    }

    /// The state every node must hold: per key, the write with the highest version.
    var expected: [JSON: (version: RecordVersion, value: JSON?)] {
        var out: [JSON: (version: RecordVersion, value: JSON?)] = [:]
        for w in history where LastWriterWins.wins(w.version, over: out[w.id]?.version) {
            if case .put(let v) = w.change { out[w.id] = (w.version, v) } else { out[w.id] = (w.version, nil) }
        }
        return out
    }
}
