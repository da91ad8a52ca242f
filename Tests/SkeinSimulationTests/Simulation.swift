import SkeinCore
import SkeinReplication

/// A deterministic run of N nodes in a full mesh under a hostile network: messages
/// dropped, duplicated, reordered and delayed; nodes crashed and restarted; clocks skewed.
/// Everything random comes from one seed, so a failing seed replays exactly.
struct Simulation {
    struct Message {
        let from: String
        let to: String
        let deliverAt: UInt64
        let message: ReplicationMessage
    }

    var rng: SimRandom
    var nodes: [SimNode]
    var network: [Message] = []
    var now: UInt64 = 1_000_000
    /// Every acknowledged write, from every node.
    var history: [ReplicatedWrite] = []
    var hostile = true
    let keys: [JSON]

    init(seed: UInt64, nodeCount: Int, keyCount: Int = 12) {
        rng = SimRandom(seed: seed)
        var r = rng
        nodes = (0..<nodeCount).map { i in SimNode(name: "node-\(i)", skewMillis: Int64(r.int(-5000..<5001))) }
        rng = r
        keys = (0..<keyCount).map { JSON($0) }
        for i in nodes.indices { connect(i) }
    }

    func index(_ name: String) -> Int { nodes.firstIndex { $0.name == name }! }

    /// A (re)started node opens a session with every peer that is up, both ways.
    mutating func connect(_ i: Int) {
        for j in nodes.indices where j != i && nodes[j].up && nodes[i].up {
            subscribe(subscriber: i, publisher: j)
            subscribe(subscriber: j, publisher: i)
        }
    }

    mutating func subscribe(subscriber i: Int, publisher j: Int) {
        let peer = nodes[j].name
        var session = SubscriberSession(cursor: nodes[i].cursors[peer] ?? 0, origins: [peer], resubscribeAfterMillis: 1500)
        session.heard(now: now)
        nodes[i].subscribers[peer] = session
        nodes[j].publishers[nodes[i].name] = PublisherSession(maxInFlight: 3, batchSize: 5, resendAfterMillis: 800)
        send(from: i, to: j, session.subscribe)
    }

    mutating func send(from i: Int, to j: Int, _ message: ReplicationMessage) {
        if hostile && rng.chance(0.05) { return }  // dropped
        let copies = hostile && rng.chance(0.05) ? 2 : 1  // duplicated
        for _ in 0..<copies {
            let delay = UInt64(hostile ? rng.int(1..<200) : rng.int(1..<20))  // delayed, so reordered
            network.append(Message(from: nodes[i].name, to: nodes[j].name, deliverAt: now + delay, message: message))
        }
    }

    // MARK: Steps

    mutating func step() {
        now += UInt64(rng.int(1..<25))
        if hostile {
            if rng.chance(0.3) { localWrite() }
            if rng.chance(0.004) { crashSomeone() }
            if rng.chance(0.02) { restartSomeone() }
        }
        deliverDue()
        for i in nodes.indices where nodes[i].up { pump(i) }
    }

    mutating func localWrite() {
        let live = nodes.indices.filter { nodes[$0].up }
        guard let i = live.randomElement(using: &rng) else { return }
        let id = keys.randomElement(using: &rng)!
        let deleting = nodes[i].records[id]?.value != nil && rng.chance(0.25)
        let value: JSON? = deleting ? nil : ["id": id, "v": JSON(rng.int(0..<1_000_000)), "by": .string(nodes[i].name)]
        history.append(nodes[i].write(id: id, value: value, now: now))
    }

    mutating func crashSomeone() {
        let live = nodes.indices.filter { nodes[$0].up }
        guard live.count > 1, let i = live.randomElement(using: &rng) else { return }
        nodes[i].crash()
        for j in nodes.indices where j != i {
            nodes[j].publishers[nodes[i].name]?.disconnected()
            nodes[j].subscribers[nodes[i].name] = nil
        }
    }

    mutating func restartSomeone() {
        let down = nodes.indices.filter { !nodes[$0].up }
        guard let i = down.randomElement(using: &rng) else { return }
        restart(i)
    }

    mutating func restart(_ i: Int) {
        nodes[i].up = true
        connect(i)
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
        switch m.message {
        case .subscribe, .ack:
            let oldest = UInt64(nodes[to].log.isEmpty ? 0 : 1)
            guard var publisher = nodes[to].publishers[m.from] else { return }
            if let reply = publisher.receive(m.message, now: now, oldestRetained: oldest) { send(from: to, to: from, reply) }
            nodes[to].publishers[m.from] = publisher
        case .copyBegin, .copyTables, .copyPage, .copyRows:
            break  // the simulation does not prune, so never copies
        case .batch, .pruned:
            guard var subscriber = nodes[to].subscribers[m.from] else { return }
            subscriber.heard(now: now)
            switch subscriber.receive(m.message) {
            case .apply(let entries, let through):
                nodes[to].apply(entries, from: m.from, through: through, now: now)
                send(from: to, to: from, subscriber.applied(through: through))
            case .send(let reply):
                send(from: to, to: from, reply)
            case .fullCopy, .none:
                break
            }
            nodes[to].subscribers[m.from] = subscriber
        }
    }

    /// Lets each session send what is due: batches, resends, re-subscribes.
    mutating func pump(_ i: Int) {
        for peer in nodes[i].publishers.keys.sorted() {
            guard var publisher = nodes[i].publishers[peer] else { continue }
            publisher.tick(now: now)
            while true {
                let start = Int(publisher.next) - 1
                guard start < nodes[i].log.count else { break }
                let slice = Array(nodes[i].log[start..<min(nodes[i].log.count, start + publisher.batchSize)])
                guard let batch = publisher.nextBatch(log: slice, newest: UInt64(nodes[i].log.count), now: now) else { break }
                send(from: i, to: index(peer), batch)
            }
            nodes[i].publishers[peer] = publisher
        }
        for peer in nodes[i].subscribers.keys.sorted() {
            guard var subscriber = nodes[i].subscribers[peer] else { continue }
            if let again = subscriber.tick(now: now) { send(from: i, to: index(peer), again) }
            nodes[i].subscribers[peer] = subscriber
        }
    }

    // MARK: Healing and checking

    /// Restarts every node, makes the network reliable, runs until nothing is in flight.
    mutating func heal(maxSteps: Int = 20_000) -> Bool {
        hostile = false
        for i in nodes.indices where !nodes[i].up { restart(i) }
        for _ in 0..<maxSteps {
            step()
            if network.isEmpty && caughtUp { return true }
        }
        return false
    }

    var caughtUp: Bool {
        nodes.allSatisfy { node in
            nodes.allSatisfy { peer in peer.name == node.name || (node.cursors[peer.name] ?? 0) >= UInt64(peer.log.count) }
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
