import Foundation
import SkeinCore
import SkeinReplication
import Testing

/// Deterministic simulation of replication: random writes and deletes on every node under a
/// hostile network and crashes, then healing; every node must end with exactly the
/// last-write-wins result of all acknowledged writes, and no entry applied twice.
/// `SKEIN_SIM_SEED=N` replays one seed; `SKEIN_SIM_SEEDS=N` sets how many run (1000).
@Suite struct ReplicationSimulationTests {
    static var seeds: [UInt64] {
        let env = ProcessInfo.processInfo.environment
        if let one = env["SKEIN_SIM_SEED"].flatMap(UInt64.init) { return [one] }
        let count = env["SKEIN_SIM_SEEDS"].flatMap(Int.init) ?? 1000
        return (1...UInt64(count)).map { $0 }
    }

    /// Runs one seed; returns a description of what went wrong, or nil.
    static func run(seed: UInt64) -> String? {
        var sim = Simulation(seed: seed, nodeCount: 3 + Int(seed % 3))
        for _ in 0..<600 { sim.step() }
        guard sim.heal() else { return "did not converge within the step bound (network \(sim.network.count) messages)" }
        let expected = sim.expected
        for node in sim.nodes {
            for key in sim.keys {
                let got = node.records[key], want = expected[key]
                guard got?.version == want?.version, got?.value == want?.value else {
                    return "\(node.name) key \(key): has \(String(describing: got)) expected \(String(describing: want))"
                }
            }
            // Re-delivery must never log an entry twice.
            var seen = Set<String>()
            for e in node.log {
                for id in e.ids where !seen.insert("\(e.origin)|\(e.version.rawValue)|\(id)").inserted {
                    return "\(node.name) logged \(id) of \(e.origin)@\(e.version) twice"
                }
            }
        }
        return nil
    }

    @Test func everySeedConverges() {
        var failures: [String] = []
        for seed in Self.seeds {
            if let problem = Self.run(seed: seed) {
                failures.append("seed \(seed): \(problem)  (replay: SKEIN_SIM_SEED=\(seed) swift test --filter ReplicationSimulationTests)")
                if failures.count >= 5 { break }
            }
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }

    @Test func aSeedReplaysExactly() {
        var a = Simulation(seed: 42, nodeCount: 4), b = Simulation(seed: 42, nodeCount: 4)
        for _ in 0..<300 { a.step(); b.step() }
        #expect(a.history == b.history)
        #expect(a.nodes.map(\.log) == b.nodes.map(\.log))
    }

    @Test func theSimulationIsHostileEnough() {
        // Guards the test itself: crashes, conflicts and deletes really happen.
        var sim = Simulation(seed: 7, nodeCount: 4)
        var crashes = 0
        for _ in 0..<2000 {
            let upBefore = sim.nodes.filter(\.up).count
            sim.step()
            if sim.nodes.filter(\.up).count < upBefore { crashes += 1 }
        }
        let deletes = sim.history.filter { $0.change == .delete }.count
        let contended = Dictionary(grouping: sim.history, by: \.id).values.filter { Set($0.map(\.version.origin)).count > 1 }.count
        #expect(crashes > 0)
        #expect(deletes > 0)
        #expect(contended > 0)
    }
}
