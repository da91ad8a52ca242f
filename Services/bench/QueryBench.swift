import Foundation
import SkeinCore

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
