import Foundation
import SkeinCore
import SkeinService

/// Reads through `sql` and the REST interface on the table the gateway phase filled, once
/// its indexes caught up: a point query on the primary key and a range query on an indexed
/// attribute (`score`, 64 records of 64,000), queries/s with the insert load's clients.
struct QueryBench: @unchecked Sendable {
    let node: BenchNode
    let table: String
    let records: Int
    let clients: Int
    /// Queries per figure.
    var queries = 4_000

    /// The four figures, by name (`sql_point_qps`, ...).
    func run() throws -> [String: Double] {
        let scores = (0..<1000).map { Double($0) / 7.0 }
        @Sendable func point(_ i: Int) -> Int { (i &* 7919) % records }
        @Sendable func range(_ i: Int) -> (Double, Double) { let s = scores[(i &* 31) % scores.count]; return (s - 0.01, s + 0.01) }
        let sqlPoint = try measure("sql point query (id = n)") { client, i in
            try client.post(Self.sql("SELECT * FROM data.\(table) WHERE id = \(point(i))"), authorization: node.authorization)
        }
        let sqlRange = try measure("sql range query (64 rows)") { client, i in
            let (low, high) = range(i)
            return try client.post(Self.sql("SELECT * FROM data.\(table) WHERE score BETWEEN \(low) AND \(high)"), authorization: node.authorization)
        }
        let restPoint = try measure("REST point query (GET /t/n)") { client, i in
            try client.get("/\(table)/\(point(i))", authorization: node.authorization)
        }
        let restRange = try measure("REST range query (64 rows)") { client, i in
            let (low, high) = range(i)
            return try client.get("/\(table)/?score=ge=\(low)&score=le=\(high)", authorization: node.authorization)
        }
        return ["sql_point_qps": sqlPoint, "sql_range_qps": sqlRange, "rest_point_qps": restPoint, "rest_range_qps": restRange]
    }

    static func sql(_ statement: String) -> [UInt8] {
        (["operation": "sql", "sql": .string(statement)] as JSON).serialized()
    }

    /// `queries` requests over `clients` connections (REST on its own port); each answer
    /// must be 200 with a non-empty result. Returns queries/s.
    private func measure(_ label: String, _ query: @escaping @Sendable (HTTPLoadClient, Int) throws -> (Int, [UInt8])) throws -> Double {
        let rest = label.hasPrefix("REST")
        nonisolated(unsafe) let connections = try (0..<clients).map { _ in try HTTPLoadClient(host: node.host, port: rest ? node.restPort : node.port) }
        let perClient = queries / clients
        let failures = LockedCounter()
        let group = DispatchGroup()
        let start = Date()
        for c in 0..<clients {
            group.enter()
            let t = Thread {
                defer { group.leave() }
                for q in 0..<perClient {
                    do {
                        let (status, body) = try query(connections[c], c * perClient + q)
                        guard status == 200, body.count > 2 else { throw BenchError("HTTP \(status): \(String(decoding: body.prefix(200), as: UTF8.self))") }
                    } catch {
                        failures.add()
                        print("  \(label): \(error)")
                        return
                    }
                }
            }
            t.stackSize = 1 << 20
            t.start()
        }
        group.wait()
        let seconds = Date().timeIntervalSince(start)
        guard failures.value == 0 else { throw BenchError("\(label): \(failures.value) clients failed") }
        let rate = Double(perClient * clients) / seconds
        print(String(format: "%@ %10.0f queries/s  (%d queries in %.2f s)", label.column as NSString, rate, perClient * clients, seconds))
        return rate
    }
}

/// Range queries through `sql` on a table while a paced insert load writes it (half the
/// gateway phase's rate): the table's newest records wait in the index backlog and each
/// query matches them by value (`BacklogView`), the read path of a store taking writes.
/// One client, queries back to back over four times the phase's records; per-query latency.
struct QueryWhileWriting: @unchecked Sendable {
    let node: BenchNode
    let load: InsertLoad
    let table: String
    let requestsPerSecond: Double

    struct Figures {
        let queries: Int
        let mean: Double
        let p50: Double
        let p99: Double
    }

    func run() throws -> Figures {
        try node.operation(["operation": "create_table", "table": .string(table), "primary_key": "id"])
        nonisolated(unsafe) let client = try HTTPLoadClient(host: node.host, port: node.port)
        let writing = Locked(true)
        let latencies = Locked<[Double]>([])
        let failure = Locked<String?>(nil)
        let done = DispatchSemaphore(value: 0)
        let authorization = node.authorization
        let reader = Thread {
            defer { done.signal() }
            var i = 0
            // At least one query, however short the load.
            repeat {
                let score = Double((i &* 31) % 1000) / 7.0
                let started = DispatchTime.now().uptimeNanoseconds
                do {
                    let (status, body) = try client.post(QueryBench.sql("SELECT id FROM data.\(table) WHERE score BETWEEN \(score - 0.01) AND \(score + 0.01)"),
                                                         authorization: authorization)
                    guard status == 200 else { throw BenchError("HTTP \(status): \(String(decoding: body.prefix(200), as: UTF8.self))") }
                } catch {
                    failure.withLock { $0 = "\(error)" }
                    return
                }
                latencies.withLock { $0.append(Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6) }
                i += 1
            } while writing.withLock({ $0 })
        }
        reader.stackSize = 1 << 20
        var started = false
        let run: LoadRun
        do {
            // The reader stops with the load, however the load ends.
            defer {
                writing.withLock { $0 = false }
                if started { done.wait() }
            }
            run = try load.throughGateway("writes while querying (paced)", node: node, table: table, requestsPerSecond: requestsPerSecond) {
                started = true
                reader.start()
            }
        }
        if let failure = failure.withLock({ $0 }) { throw BenchError("query while writing: \(failure)") }
        guard run.failedClients == 0 else { throw BenchError("writes while querying: \(run.failedClients) clients failed") }
        let sorted = latencies.withLock { $0 }.sorted()
        guard !sorted.isEmpty else { throw BenchError("query while writing: no query finished") }
        let figures = Figures(queries: sorted.count, mean: sorted.reduce(0, +) / Double(sorted.count), p50: sorted[sorted.count / 2],
                              p99: sorted[min(sorted.count - 1, sorted.count * 99 / 100)])
        print(String(format: "%@ mean %.1f ms  p50 %.1f ms  p99 %.1f ms  (%d queries, writes at %.0f records/s)",
                     "sql range query while writing".column as NSString, figures.mean, figures.p50, figures.p99, figures.queries, run.rate))
        return figures
    }
}
