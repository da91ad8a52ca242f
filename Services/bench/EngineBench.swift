import Foundation
import SkeinCore
import SkeinLMDB
import SkeinReplication
import SkeinService
import SkeinStorage

/// Skein's storage engine in process (no IPC, no HTTP): how much of the gap to the LMDB
/// ceiling is storage work rather than transport. Two paths, each on a table as Harper
/// creates it (every attribute indexed) and on one declared with a primary key only:
/// - local writes: requests read from their bytes (`IncomingWrite`), records, audit entry
///   and index backlog, one durable transaction per group of `clients` batches, as the
///   store's group commit makes them;
/// - replicated applies: the audit entries those writes logged, sent as a peer's
///   `replication_apply` body (decoded by `ReceivedBatch`, as the store does) and merged
///   by last-write-wins into a second environment, `clients` entries per transaction.
/// The index catch-ups (`IndexBacklog`) run every 32k records and are timed with each path.
/// `SKEIN_BENCH_ENGINE_ONLY=1 skein-bench` runs only this (for profilers: callgrind counts
/// the same instructions on a busy machine).
struct EngineBench {
    let load: InsertLoad

    struct Figures {
        var write: Double
        var apply: Double
    }

    /// Both paths on both table shapes; prints one line each.
    func run() throws -> (default: Figures, declared: Figures) {
        (try run(declared: false), try run(declared: true))
    }

    private func run(declared: Bool) throws -> Figures {
        let shape = declared ? "declared" : "default"
        let dir = "/tmp/skbench-engine-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let origin = try Engine(dir: dir + "/origin", name: "origin", declared: declared)
        let receiver = try Engine(dir: dir + "/receiver", name: "receiver", declared: declared)
        defer { origin.close(); receiver.close() }

        // Local writes, each read from a request's bytes as the store reads it (`IncomingWrite`).
        let batches = (0..<(load.totalRecords / load.batch)).map { batch -> [UInt8] in
            let records = BenchRecords.batch(first: batch * load.batch, count: load.batch)
            return JSON.object(["operation": "insert", "database": "data", "table": "t", "records": .array(records)]).serialized()
        }
        var next = 0
        let write = try origin.timed { env in
            while next < batches.count {
                let group = batches[next..<min(batches.count, next + load.clients)]
                let txn = try env.lmdb.beginWrite()
                for body in group {
                    let request = try IncomingWrite(bytes: body)
                    _ = try env.write(txn, table: "t", records: request.records ?? [], mode: .insert, context: origin.context())
                }
                try origin.commit(txn)
                next += load.clients
                try origin.catchUpIfDue(last: next >= batches.count)
            }
        }
        print(String(format: "%@ %10.0f records/s  (%.0f%% in commit: page writes and fsync; %.0f%% in index catch-ups)",
                     "engine \(shape): local writes".column as NSString, write.rate(load.totalRecords), write.commitShare, write.catchUpShare))

        // The same records as a peer's entries, applied on the receiver.
        let bodies = try origin.env.lmdb.read { txn -> [[UInt8]] in
            let log = try origin.env.readStoredLog(txn, from: 1, limit: .max)
            return stride(from: 0, to: log.entries.count, by: load.clients).map { first in
                let part = log.entries[first..<min(log.entries.count, first + load.clients)]
                var body = Array(#"{"peer":"origin","through":"#.utf8) + Array(String(first + part.count).utf8) + Array(#","entries":["#.utf8)
                for (i, entry) in part.enumerated() {
                    if i > 0 { body.append(UInt8(ascii: ",")) }
                    body.append(contentsOf: entry)
                }
                body.append(contentsOf: Array("]}".utf8))
                return body
            }
        }
        var applied = 0
        let apply = try receiver.timed { env in
            for (i, body) in bodies.enumerated() {
                let batch = try ReceivedBatch(bytes: body)
                guard let through = batch.fields["through"]?.intValue else { throw BenchError("no through") }
                let txn = try env.lmdb.beginWrite()
                applied += try env.applyReplicated(txn, peer: "origin", entries: batch.entries, through: UInt64(through)).applied
                try receiver.commit(txn)
                try receiver.catchUpIfDue(last: i == bodies.count - 1)
            }
        }
        guard applied == load.totalRecords + 1 else { throw BenchError("applied \(applied) of \(load.totalRecords) records and the table") }
        print(String(format: "%@ %10.0f records/s  (%.0f%% in commit; %.0f%% in index catch-ups)",
                     "engine \(shape): applies".column as NSString, apply.rate(load.totalRecords), apply.commitShare, apply.catchUpShare))
        return Figures(write: write.rate(load.totalRecords), apply: apply.rate(load.totalRecords))
    }
}

/// One database environment of the engine bench, with its clock and timers.
private final class Engine {
    let registry: DatabaseRegistry
    let env: DatabaseEnvironment
    private var clock = HybridLogicalClock()
    private let name: String
    private var catchingUp = 0.0
    private var committing = 0.0

    struct Timing {
        var elapsed: Double
        var commitShare: Double
        var catchUpShare: Double
        func rate(_ records: Int) -> Double { Double(records) / elapsed }
    }

    init(dir: String, name: String, declared: Bool) throws {
        self.name = name
        registry = try DatabaseRegistry(dataDir: dir, mapSize: 8 << 30)
        env = try registry.create("data").0
        guard name == "origin" else { return }
        let fields = BenchRecords.record(0).objectValue!.keys.filter { $0 != "id" }
        let ctx = context()
        try env.lmdb.write { _ = try env.createTable($0, name: "t", primaryKey: "id", attributes: declared ? fields.sorted() : [],
                                                      indexed: declared ? [] : nil, context: ctx) }
    }

    func context() -> WriteContext { WriteContext(version: clock.tick(now: ServiceMain.nowMillis()), origin: name, user: "admin") }

    /// Catches the indexes up once 32k records wait, as the store's index worker does, and at the end.
    func catchUpIfDue(last: Bool) throws {
        guard try last || env.lmdb.read({ try env.indexBacklogCount($0) }) >= 32_768 else { return }
        let start = Date()
        _ = try env.catchUpIndexesNow()
        catchingUp += Date().timeIntervalSince(start)
    }

    /// Commits (writes the dirty pages and syncs), timed.
    func commit(_ txn: LMDBTransaction) throws {
        let start = Date()
        try txn.commit()
        committing += Date().timeIntervalSince(start)
    }

    /// Runs `body`, timing it, its commits and its catch-ups.
    func timed(_ body: (DatabaseEnvironment) throws -> Void) throws -> Timing {
        catchingUp = 0
        committing = 0
        let start = Date()
        try body(env)
        let elapsed = Date().timeIntervalSince(start)
        return Timing(elapsed: elapsed, commitShare: committing / elapsed * 100, catchUpShare: catchingUp / elapsed * 100)
    }

    func close() { registry.closeAll() }
}
