import Foundation
import Logging
import SkeinCore
import SkeinLMDB
import SkeinService
import SkeinStorage

// skein-bench: durable insert throughput through the gateway, through the store's ZeroMQ
// API, and the in-process LMDB ceiling, from one run on this machine. Prints a table and
// one JSON line. Options: --records N (per phase, default 64000), --clients N (16),
// --batch N (100), --port P (29925).

var options: [String: Int] = ["records": 64_000, "clients": 16, "batch": 100, "port": 29_925]
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    guard a.hasPrefix("--"), let v = args.popFirst(), let n = Int(v), n > 0, options[String(a.dropFirst(2))] != nil else {
        print("usage: skein-bench [--records N] [--clients N] [--batch N] [--port P]")
        exit(2)
    }
    options[String(a.dropFirst(2))] = n
}
let clients = options["clients"]!, batch = options["batch"]!, port = options["port"]!
let batchesPerClient = max(1, options["records"]! / (clients * batch))
let totalRecords = batchesPerClient * clients * batch
LoggingSystem.bootstrap { _ in SwiftLogNoOpLogHandler() }

/// Runs `work(client, batchIndex)` on `clients` threads; returns records/s.
func measure(_ label: String, _ work: @escaping @Sendable (Int, Int) throws -> Void) -> Double {
    let group = DispatchGroup()
    let failures = LockedCounter()
    let start = Date()
    for c in 0..<clients {
        group.enter()
        let t = Thread {
            defer { group.leave() }
            for b in 0..<batchesPerClient {
                do { try work(c, b) } catch { failures.add(); print("  \(label): \(error)") ; return }
            }
        }
        t.stackSize = 1 << 20
        t.start()
    }
    group.wait()
    let seconds = Date().timeIntervalSince(start)
    let rate = Double(totalRecords) / seconds
    print(String(format: "%-34@ %10.0f records/s  (%d records in %.2f s%@)", label as NSString, rate, totalRecords, seconds,
                 failures.value > 0 ? ", \(failures.value) FAILED clients" as NSString : "" as NSString))
    return failures.value > 0 ? 0 : rate
}

final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add() { lock.lock(); n += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}

/// The request bodies, prepared before timing so the client's JSON work is not measured.
func bodies(table: String) -> [[[UInt8]]] {
    (0..<clients).map { c in
        (0..<batchesPerClient).map { b in
            let first = (c * batchesPerClient + b) * batch
            let body: JSON = ["operation": "insert", "database": "data", "table": .string(table),
                              "records": .array(BenchRecords.batch(first: first, count: batch))]
            return body.serialized()
        }
    }
}

print("skein-bench: \(clients) clients, batches of \(batch) records (~\(BenchRecords.record(1).serialized().count) bytes, 8 fields), \(totalRecords) records per phase")
print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.physicalMemory >> 30) GiB")

if ProcessInfo.processInfo.environment["SKEIN_BENCH_ENGINE_ONLY"] != nil {
    print(String(format: "%.0f", try engine()))
    exit(0)
}
let node = try BenchNode(port: port)
defer { node.shutdown() }
try node.waitHealthy()
let auth = "Basic " + Data("admin:\(node.password)".utf8).base64EncodedString()
let setup = try HTTPLoadClient(host: "127.0.0.1", port: port)
for table in ["via_gateway", "via_store"] {
    let (status, reply) = try setup.post(JSON.object(["operation": "create_table", "table": .string(table), "primary_key": "id"]).serialized(), authorization: auth)
    guard status == 200 else { throw BenchError("create_table: \(status) \(String(decoding: reply, as: UTF8.self))") }
}

// 1. Through the gateway (HTTP, auth, ZeroMQ, store, group commit, fsync).
let gatewayBodies = bodies(table: "via_gateway")
let httpClients = try (0..<clients).map { _ in try HTTPLoadClient(host: "127.0.0.1", port: port) }
nonisolated(unsafe) let sharedHTTP = httpClients
let gatewayRate = measure("gateway (HTTP POST /)") { c, b in
    let (status, reply) = try sharedHTTP[c].post(gatewayBodies[c][b], authorization: auth)
    guard status == 200 else { throw BenchError("HTTP \(status): \(String(decoding: reply.prefix(200), as: UTF8.self))") }
}

// 2. Straight to the store's ZeroMQ API.
let storeBodies = bodies(table: "via_store")
let rpc = RPCClient(serviceName: "store", endpoint: node.storeEndpoint, timeoutMillis: 60_000, logger: Logger(label: "bench"))
try rpc.start()
let storeRate = measure("store (ZeroMQ insert)") { c, b in
    let reply = try rpc.callBlocking(RPCRequest(header: ["op": "insert", "user": "admin"], body: storeBodies[c][b]))
    guard reply.status == 200 else { throw BenchError("store \(reply.status)") }
}
rpc.stop()

// 3. The in-process LMDB ceiling: the same record bytes, durable transactions, one writer.
func ceiling(recordsPerTransaction: Int) throws -> Double {
    let dir = "/tmp/skbench-lmdb-\(UUID().uuidString.prefix(8))"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let env = try LMDBEnvironment(path: dir, mapSize: 8 << 30)
    let db = try env.write { try $0.database("records", create: true)! }
    let values = (0..<totalRecords).map { BenchRecords.record($0).serialized() }
    let start = Date()
    var next = 0
    while next < totalRecords {
        let end = min(totalRecords, next + recordsPerTransaction)
        try env.write { txn in
            for i in next..<end { try txn.put(db, KeyCodec.encode(JSON(i))!, values[i]) }
        }
        next = end
    }
    let rate = Double(totalRecords) / Date().timeIntervalSince(start)
    print(String(format: "%-34@ %10.0f records/s", "LMDB ceiling (\(recordsPerTransaction)/txn)" as NSString, rate))
    env.close()
    return rate
}
/// Skein's own write path in process (records, 10 secondary indexes, audit entry; no IPC,
/// no HTTP), one durable transaction per group of `clients` batches: how much of the gap to
/// the ceiling is storage work rather than transport.
func engine() throws -> Double {
    let dir = "/tmp/skbench-engine-\(UUID().uuidString.prefix(8))"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let registry = try DatabaseRegistry(dataDir: dir, mapSize: 8 << 30)
    let env = try registry.create("data").0
    var clock = HybridLogicalClock()
    func context() -> WriteContext { WriteContext(version: clock.tick(now: ServiceMain.nowMillis()), origin: "bench", user: "admin") }
    let ctx = context()
    try env.lmdb.write { _ = try env.createTable($0, name: "t", primaryKey: "id", attributes: [], context: ctx) }
    let batches = (0..<(totalRecords / batch)).map { BenchRecords.batch(first: $0 * batch, count: batch) }
    let start = Date()
    var next = 0
    var committing = 0.0
    while next < batches.count {
        let group = batches[next..<min(batches.count, next + clients)]
        let contexts = group.map { _ in context() }
        let txn = try env.lmdb.beginWrite()
        for (records, ctx) in zip(group, contexts) { _ = try env.write(txn, table: "t", records: records, mode: .insert, context: ctx) }
        let beforeCommit = Date()
        try txn.commit()  // writes the dirty pages and syncs
        committing += Date().timeIntervalSince(beforeCommit)
        next += clients
    }
    let elapsed = Date().timeIntervalSince(start)
    let rate = Double(totalRecords) / elapsed
    print(String(format: "%-34@ %10.0f records/s  (%.0f%% of the time in commit: page writes and fsync)",
                 "storage engine in-process" as NSString, rate, committing / elapsed * 100))
    registry.closeAll()
    return rate
}
let engineRate = try engine()
let ceilingBatch = try ceiling(recordsPerTransaction: batch)
let ceilingGroup = try ceiling(recordsPerTransaction: batch * clients)
let ceilingRate = max(ceilingBatch, ceilingGroup)

print(String(format: "gateway/ceiling %.2f   store/ceiling %.2f   gateway/store %.2f   store/engine %.2f   engine/ceiling %.2f",
             gatewayRate / ceilingRate, storeRate / ceilingRate, gatewayRate / max(storeRate, 1), storeRate / engineRate, engineRate / ceilingRate))
let summary: JSON = [
    "benchmark": "skein-single-node-insert", "clients": JSON(clients), "batch": JSON(batch), "records_per_phase": JSON(totalRecords),
    "gateway_records_per_s": .number(gatewayRate.rounded()), "store_records_per_s": .number(storeRate.rounded()),
    "ceiling_records_per_s": .number(ceilingRate.rounded()), "ceiling_batch_records_per_s": .number(ceilingBatch.rounded()),
    "ceiling_group_records_per_s": .number(ceilingGroup.rounded()), "engine_records_per_s": .number(engineRate.rounded()),
    "gateway_over_ceiling": .number((gatewayRate / ceilingRate * 100).rounded() / 100),
    "store_over_ceiling": .number((storeRate / ceilingRate * 100).rounded() / 100),
]
print(summary.text)
