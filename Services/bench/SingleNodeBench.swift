import Foundation
import Logging
import SkeinCore
import SkeinLMDB
import SkeinService
import SkeinStorage

/// The foundation benchmark: durable insert throughput through the gateway, through the
/// store's ZeroMQ API, Skein's storage engine in process and the LMDB ceiling, and indexed
/// reads through `sql` and REST (`QueryBench`), from one run on this machine. Prints a
/// table and one JSON line.
struct SingleNodeBench {
    static let usage = "skein-bench [--records N] [--clients N] [--batch N] [--port P]"
    static let defaults = ["records": 64_000, "clients": 16, "batch": 100, "port": 29_925]

    let load: InsertLoad
    let port: Int

    init(options: [String: Int]) {
        load = InsertLoad(records: options["records"]!, clients: options["clients"]!, batch: options["batch"]!)
        port = options["port"]!
    }

    var totalRecords: Int { load.totalRecords }

    func run() throws {
        print("skein-bench: \(load.clients) clients, batches of \(load.batch) records (~\(BenchRecords.record(1).serialized().count) bytes, 8 fields), \(totalRecords) records per phase")
        print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.physicalMemory >> 30) GiB")
        if ProcessInfo.processInfo.environment["SKEIN_BENCH_ENGINE_ONLY"] != nil {
            _ = try EngineBench(load: load).run()
            return
        }
        let node = try BenchNode(port: port)
        defer { node.shutdown() }
        try node.waitHealthy()
        for table in ["via_gateway", "via_store"] {
            try node.operation(["operation": "create_table", "table": .string(table), "primary_key": "id"])
        }

        // 1. Through the gateway (HTTP, auth, ZeroMQ, store, group commit, fsync).
        let figures = BenchFigures(prefix: "bench")
        let gatewayRun = try load.throughGateway("gateway (HTTP POST /)", node: node, table: "via_gateway")
        figures.record(gatewayRun)
        let gatewayRate = gatewayRun.rate

        // Reads of what it wrote, through `sql` and REST, once the index worker caught up
        // (it does when writes pause).
        Thread.sleep(forTimeInterval: 3)
        let queries = try QueryBench(node: node, table: "via_gateway", records: totalRecords, clients: load.clients).run()
        // And while a table is being written, at half that rate.
        let whileWriting = try QueryWhileWriting(node: node, load: InsertLoad(records: totalRecords * 4, clients: load.clients, batch: load.batch), table: "while_writing",
                                                 requestsPerSecond: gatewayRate / 2 / Double(load.batch)).run()

        // 2. Straight to the store's ZeroMQ API.
        let storeBodies = load.bodies(table: "via_store")
        let rpc = RPCClient(serviceName: "store", endpoint: node.storeEndpoint, timeoutMillis: 60_000, logger: Logger(label: "bench"))
        try rpc.start()
        let storeRun = load.run("store (ZeroMQ insert)") { c, b in
            let reply = try rpc.callBlocking(RPCRequest(header: ["op": "insert", "user": "admin"], body: storeBodies[c][b]))
            guard reply.status == 200 else { throw BenchError("store \(reply.status)") }
        }
        figures.record(storeRun)
        let storeRate = storeRun.rate
        rpc.stop()

        let engines = try EngineBench(load: load).run()
        let engineRate = engines.default.write
        let ceilingBatch = try ceiling(recordsPerTransaction: load.batch)
        let ceilingGroup = try ceiling(recordsPerTransaction: load.batch * load.clients)
        let ceilingRate = max(ceilingBatch, ceilingGroup)

        print(String(format: "gateway/ceiling %.2f   store/ceiling %.2f   gateway/store %.2f   store/engine %.2f   engine/ceiling %.2f",
                     gatewayRate / ceilingRate, storeRate / ceilingRate, gatewayRate / max(storeRate, 1), storeRate / engineRate, engineRate / ceilingRate))
        var summary: JSON = [
            "benchmark": "skein-single-node-insert", "clients": JSON(load.clients), "batch": JSON(load.batch), "records_per_phase": JSON(totalRecords),
            "gateway_records_per_s": .number(gatewayRate.rounded()), "store_records_per_s": .number(storeRate.rounded()),
            "ceiling_records_per_s": .number(ceilingRate.rounded()), "ceiling_batch_records_per_s": .number(ceilingBatch.rounded()),
            "ceiling_group_records_per_s": .number(ceilingGroup.rounded()), "engine_records_per_s": .number(engineRate.rounded()),
            "engine_apply_records_per_s": .number(engines.default.apply.rounded()),
            "engine_declared_records_per_s": .number(engines.declared.write.rounded()),
            "engine_declared_apply_records_per_s": .number(engines.declared.apply.rounded()),
            "gateway_over_ceiling": .number((gatewayRate / ceilingRate * 100).rounded() / 100),
            "store_over_ceiling": .number((storeRate / ceilingRate * 100).rounded() / 100),
        ]
        for (name, rate) in queries { summary[name] = .number(rate.rounded()) }
        summary["sql_range_while_writing_mean_ms"] = .number((whileWriting.mean * 10).rounded() / 10)
        summary["sql_range_while_writing_p50_ms"] = .number((whileWriting.p50 * 10).rounded() / 10)
        summary["sql_range_while_writing_p99_ms"] = .number((whileWriting.p99 * 10).rounded() / 10)
        summary["sql_range_while_writing_queries"] = JSON(whileWriting.queries)
        figures.finish()
        print(summary.text)
    }

    /// The in-process LMDB ceiling: the same record bytes, durable transactions, one writer.
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
        print(String(format: "%@ %10.0f records/s", "LMDB ceiling (\(recordsPerTransaction)/txn)".column as NSString, rate))
        env.close()
        return rate
    }
}
