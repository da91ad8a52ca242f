import Foundation
import SkeinCore

/// The benchmark's write load: `clients` threads, each sending `batchesPerClient` insert
/// batches of `batch` records, ids 0..<totalRecords from `firstID`.
struct InsertLoad: Sendable {
    let clients: Int
    let batch: Int
    let batchesPerClient: Int
    var totalRecords: Int { batchesPerClient * clients * batch }

    init(records: Int, clients: Int, batch: Int) {
        self.clients = clients
        self.batch = batch
        batchesPerClient = max(1, records / (clients * batch))
    }

    /// First id of batch `b` of client `c`.
    func firstID(client c: Int, batch b: Int) -> Int { (c * batchesPerClient + b) * batch }

    /// The request body of one batch.
    func body(table: String, first: Int) -> [UInt8] {
        let body: JSON = ["operation": "insert", "database": "data", "table": .string(table),
                          "records": .array(BenchRecords.batch(first: first, count: batch))]
        return body.serialized()
    }

    /// The request bodies, prepared before timing so the client's JSON work is not measured.
    func bodies(table: String, firstID: Int = 0) -> [[[UInt8]]] {
        (0..<clients).map { c in
            (0..<batchesPerClient).map { b in body(table: table, first: firstID + self.firstID(client: c, batch: b)) }
        }
    }

    /// Runs `work(client, batchIndex)` on `clients` threads and prints a line. With
    /// `requestsPerSecond`, batches are paced: batch b of client c starts no earlier than
    /// (b * clients + c) / requestsPerSecond after the start.
    @discardableResult
    func run(_ label: String, requestsPerSecond: Double? = nil, _ work: @escaping @Sendable (Int, Int) throws -> Void) -> LoadRun {
        let group = DispatchGroup()
        let failures = LockedCounter()
        let completions = LockedTimes()
        let start = Date()
        for c in 0..<clients {
            group.enter()
            let t = Thread { [self] in
                defer { group.leave() }
                for b in 0..<batchesPerClient {
                    if let requestsPerSecond {
                        let wait = start.addingTimeInterval(Double(b * clients + c) / requestsPerSecond).timeIntervalSinceNow
                        if wait > 0 { Thread.sleep(forTimeInterval: wait) }
                    }
                    do { try work(c, b) } catch { failures.add(); print("  \(label): \(error)"); return }
                    completions.add(Date().timeIntervalSince(start))
                }
            }
            t.stackSize = 1 << 20
            t.start()
        }
        group.wait()
        let result = LoadRun(records: totalRecords, started: start, finished: Date(), failedClients: failures.value,
                             label: label, batch: batch, completions: completions.values)
        print(String(format: "%@ %10.0f records/s  (%d records in %.2f s%@)", label.column as NSString, result.rate, totalRecords, result.seconds,
                     result.failedClients > 0 ? ", \(result.failedClients) FAILED clients" as NSString : "" as NSString))
        return result
    }

    /// The foundation benchmark's gateway phase: prepared batches POSTed over keep-alive
    /// HTTP connections, one per client.
    @discardableResult
    /// `starting` runs once the bodies are prepared and the connections open, just before the load.
    func throughGateway(_ label: String, node: BenchNode, table: String, firstID: Int = 0, requestsPerSecond: Double? = nil,
                        starting: () -> Void = {}) throws -> LoadRun {
        let prepared = bodies(table: table, firstID: firstID)
        nonisolated(unsafe) let connections = try (0..<clients).map { _ in try HTTPLoadClient(host: node.host, port: node.port) }
        let authorization = node.authorization
        starting()
        return run(label, requestsPerSecond: requestsPerSecond) { c, b in
            let (status, reply) = try connections[c].post(prepared[c][b], authorization: authorization)
            guard status == 200 else { throw BenchError("HTTP \(status): \(String(decoding: reply.prefix(200), as: UTF8.self))") }
        }
    }
}

/// One run of a load: how many records, from when to when, how many clients failed, and
/// when each batch was acknowledged (seconds from the start: the throughput plot's data).
struct LoadRun {
    let records: Int
    let started: Date
    let finished: Date
    let failedClients: Int
    let label: String
    let batch: Int
    let completions: [Double]
    var seconds: Double { finished.timeIntervalSince(started) }
    /// Records/s, 0 when a client failed.
    var rate: Double { failedClients > 0 ? 0 : Double(records) / seconds }
}

/// Times appended from the load's threads.
final class LockedTimes: @unchecked Sendable {
    private let lock = NSLock()
    private var times: [Double] = []
    func add(_ t: Double) { lock.lock(); times.append(t); lock.unlock() }
    var values: [Double] { lock.lock(); defer { lock.unlock() }; return times }
}

final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add() { lock.lock(); n += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}
