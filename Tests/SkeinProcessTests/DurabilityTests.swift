import Foundation
import SkeinCore
import Testing

/// Ids whose insert was acknowledged (200), collected from concurrent writers; batches
/// refused (503: never reached the store) and batches whose outcome is unknown (504, or no
/// answer at all), which are retried with their idempotency key once the store is back.
final class Acknowledged: @unchecked Sendable {
    struct Batch: Sendable {
        let key: String
        let ids: [Int]
        let body: JSON
    }
    private let lock = NSLock()
    private var ids: Set<Int> = []
    private var failures: [Int: Int] = [:]
    private var failedIDs: [Int] = []
    private var unknownBatches: [Batch] = []

    func add(_ batch: [Int]) { lock.withLock { ids.formUnion(batch) } }
    func failed(_ status: Int, _ batch: [Int] = []) {
        lock.withLock {
            failures[status, default: 0] += 1
            failedIDs += batch
        }
    }
    func unknown(_ status: Int, _ batch: Batch) {
        lock.withLock {
            failures[status, default: 0] += 1
            unknownBatches.append(batch)
        }
    }
    var all: Set<Int> { lock.withLock { ids } }
    /// Ids of batches refused: their insert provably did not happen.
    var unacknowledged: [Int] { lock.withLock { failedIDs } }
    var failureCounts: [Int: Int] { lock.withLock { failures } }
    /// The batches whose outcome is unknown, handed over once (to be retried).
    func takeUnknown() -> [Batch] { lock.withLock { defer { unknownBatches = [] }; return unknownBatches } }
}

extension ProcessTests {
    /// Whatever the store acknowledged survives a SIGKILL, with its audit entries.
    @Suite struct Durability {
        static let writers = 8
        static let batch = 20

        static func record(_ id: Int) -> JSON {
            ["id": JSON(id), "writer": JSON(id / 100_000), "name": .string("record-\(id)"), "square": JSON(id % 1000 * (id % 1000)),
             "nested": ["even": .bool(id % 2 == 0), "tags": [.string("t\(id % 7)")]]]
        }

        /// 8 writers insert batches of 20, each with its own idempotency key, until `stop` is
        /// set; every acknowledged id is kept, refused and unknown batches noted apart.
        static func load(_ node: TestNode, round: Int, acknowledged: Acknowledged, until done: @escaping @Sendable () -> Bool) async {
            await withTaskGroup(of: Void.self) { group in
                for w in 0..<writers {
                    group.addTask {
                        var n = 0
                        // Bounded: at most 400 batches per writer and round.
                        while !done() && n < 400 {
                            let ids = (0..<batch).map { (round * 10 + w) * 100_000 + n * batch + $0 }
                            n += 1
                            let body: JSON = ["operation": "insert", "database": "dur", "table": "rec", "records": .array(ids.map(record))]
                            let sent = Acknowledged.Batch(key: "dur-\(ids[0])", ids: ids, body: body)
                            guard let r = try? await node.post(body, timeout: 20, headers: ["Idempotency-Key": sent.key]) else {
                                acknowledged.unknown(-1, sent)
                                continue
                            }
                            if r.status == 200 {
                                #expect(r.json["inserted_hashes"]?.arrayValue?.count == batch)
                                acknowledged.add(ids)
                            } else if r.status == 504 {
                                acknowledged.unknown(504, sent)
                                try? await Task.sleep(for: .milliseconds(20))
                            } else {
                                acknowledged.failed(r.status, ids)
                                try? await Task.sleep(for: .milliseconds(20))
                            }
                        }
                    }
                }
            }
        }

        /// Retries every batch whose outcome was unknown with its idempotency key, now the
        /// store is back: each ends acknowledged, and a batch the store had committed is
        /// answered with its first result (all ids inserted), never inserted a second time
        /// (which would answer with its ids skipped).
        static func settleUnknown(_ node: TestNode, _ acknowledged: Acknowledged) async throws {
            for b in acknowledged.takeUnknown() {
                var r: (status: Int, json: JSON) = (0, .null)
                let settled = await eventually(timeout: 15) {
                    r = try await node.post(b.body, headers: ["Idempotency-Key": b.key])
                    return r.status == 200
                }
                try #require(settled, "batch \(b.key) never settled: \(r)")
                #expect(r.json["inserted_hashes"]?.arrayValue?.count == b.ids.count && (r.json["skipped_hashes"]?.arrayValue ?? []).isEmpty,
                        "batch \(b.key) was written twice: \(r.json)")
                acknowledged.add(b.ids)
            }
        }

        /// SIGTERM is a graceful stop: "exits 0 after finishing in-flight work". A client that
        /// got 503 can rely on the write not having happened; one that got 504 (or no answer)
        /// retries with its idempotency key and gets the first result or a first write, never
        /// a second one. `bench/stop-loop` runs this test 20 times in a row.
        @Test func gracefulStopAnswersEveryCommittedWrite() async throws {
            try await withNode(config: ["services.timeoutMs": "3000"]) { node in
                // `writer` declared: the readers search it before any record has it (Harper: unknown attribute otherwise).
                try await node.ok(["operation": "create_table", "database": "dur", "table": "rec", "attributes": ["writer"]])
                let acknowledged = Acknowledged()
                for round in 0..<3 {
                    let stopFlag = Flag()
                    let writers = Task { await Self.load(node, round: round, acknowledged: acknowledged, until: { stopFlag.isSet }) }
                    // Reads in flight while the store stops: answered or refused, never a crash.
                    let readers = Task {
                        var statuses: [Int: String] = [:]
                        for _ in 0..<2000 where !stopFlag.isSet {
                            let r = try? await node.post(["operation": "search_by_value", "database": "dur", "table": "rec", "attribute": "writer",
                                                          "value": JSON(round * 10), "get_attributes": ["id"]], timeout: 20)
                            statuses[r?.status ?? -1] = r.map { String($0.json.text.prefix(200)) } ?? "no answer"
                        }
                        return statuses
                    }
                    try await Task.sleep(for: .milliseconds(500))
                    let status = await node.stop(.store)
                    #expect(status == 0, "the store exits 0 on SIGTERM under load\n\(node.outputTail())")
                    try await Task.sleep(for: .milliseconds(300))
                    stopFlag.set()
                    await writers.value
                    let readStatuses = await readers.value
                    #expect(Set(readStatuses.keys).isSubset(of: [200, 503, 504]), "reads during the stop: \(readStatuses)")
                    try node.start(.store)
                    let back = await eventually(timeout: 15) {
                        try await node.post(["operation": "describe_table", "database": "dur", "table": "rec"]).status == 200
                    }
                    try #require(back, "store did not come back after round \(round)")
                    try await Self.settleUnknown(node, acknowledged)
                }
                print("graceful stop: \(acknowledged.all.count) ids acknowledged, failures by status: \(acknowledged.failureCounts)")
                let ids = acknowledged.all.sorted()
                #expect(try await node.byID("dur", "rec", ids.prefix(200).map { JSON($0) }).count == min(200, ids.count))
                // Not one batch that got an error may have been written.
                let failed = acknowledged.unacknowledged
                var applied: [Int] = []
                for chunk in stride(from: 0, to: failed.count, by: 500) {
                    let part = failed[chunk..<min(chunk + 500, failed.count)].map { JSON($0) }
                    applied += try await node.byID("dur", "rec", Array(part)).ids()
                }
                #expect(applied.isEmpty, "\(applied.count) ids were written although their insert was refused (\(failed.count) ids refused, statuses \(acknowledged.failureCounts)), e.g. \(applied.prefix(5))")
            }
        }

        @Test func acknowledgedInsertsSurviveKill() async throws {
            try await withNode(config: ["services.timeoutMs": "3000"]) { node in
                try await node.ok(["operation": "create_table", "database": "dur", "table": "rec"])
                let acknowledged = Acknowledged()
                for round in 0..<2 {
                    let stopFlag = Flag()
                    let writers = Task { await Self.load(node, round: round, acknowledged: acknowledged, until: { stopFlag.isSet }) }
                    try await Task.sleep(for: .milliseconds(500))
                    let before = acknowledged.all.count
                    await node.kill(.store)
                    // Writers now get 503s; let them run into the dead store for a moment.
                    try await Task.sleep(for: .milliseconds(700))
                    stopFlag.set()
                    await writers.value
                    #expect(before > 0, "round \(round): no insert was acknowledged before the kill")
                    try node.start(.store)
                    let back = await eventually(timeout: 15) {
                        try await node.post(["operation": "describe_table", "database": "dur", "table": "rec"]).status == 200
                    }
                    try #require(back, "store did not come back after round \(round)\n\(node.outputTail())")
                    try await Self.settleUnknown(node, acknowledged)
                }
                let failures = acknowledged.failureCounts
                #expect(failures.keys.allSatisfy { [503, 504, -1].contains($0) }, "unexpected failures: \(failures)")
                #expect(failures.values.reduce(0, +) > 0, "the writers never saw the store down")
                // A refused insert (503) never reached the store.
                let refused = acknowledged.unacknowledged.map { JSON($0) }
                for chunk in stride(from: 0, to: refused.count, by: 500) {
                    let written = try await node.byID("dur", "rec", Array(refused[chunk..<min(chunk + 500, refused.count)]))
                    #expect(written.isEmpty, "ids written although their insert got 503: \(written.ids().prefix(5))")
                }
                print("durability: \(acknowledged.all.count) ids acknowledged, failures by status: \(failures)")

                // Every acknowledged record is there, whole.
                let ids = acknowledged.all.sorted()
                var missing: [Int] = [], damaged: [Int] = []
                for chunk in stride(from: 0, to: ids.count, by: 500) {
                    let part = Array(ids[chunk..<min(chunk + 500, ids.count)])
                    let found = try await node.byID("dur", "rec", part.map { JSON($0) })
                    var byID: [Int: JSON] = [:]
                    for r in found { if let id = r["id"]?.intValue { byID[id] = r } }
                    for id in part {
                        guard var r = byID[id] else { missing.append(id); continue }
                        #expect(r["__createdtime__"]?.doubleValue != nil)
                        r["__createdtime__"] = nil
                        r["__updatedtime__"] = nil
                        if r != Self.record(id) { damaged.append(id) }
                    }
                }
                #expect(missing.isEmpty, "\(missing.count) acknowledged ids lost, e.g. \(missing.prefix(5))")
                #expect(damaged.isEmpty, "\(damaged.count) records changed, e.g. \(damaged.prefix(5))")

                // The audit log has an insert entry for every acknowledged id, once.
                let log = try await node.auditLog("dur", "rec")
                var logged: [Int: Int] = [:]
                for e in log where e["operation"]?.stringValue == "insert" {
                    for id in e["hash_values"]?.arrayValue ?? [] { if let i = id.intValue { logged[i, default: 0] += 1 } }
                    #expect(e["records"]?.count == e["hash_values"]?.count)
                }
                let unlogged = ids.filter { logged[$0] == nil }
                #expect(unlogged.isEmpty, "\(unlogged.count) acknowledged ids have no audit entry, e.g. \(unlogged.prefix(5))")
                #expect(logged.values.allSatisfy { $0 == 1 }, "an id was logged as inserted twice")
                // Nothing in the table that the log does not know.
                let t = try await node.ok(["operation": "describe_table", "database": "dur", "table": "rec"])
                let count = try #require(t["record_count"]?.intValue)
                #expect(count >= ids.count)
                #expect(count == logged.count, "records \(count) vs logged ids \(logged.count)")

                // The secondary indexes (caught up in the background, across the kills) find
                // what a scan finds: every record under its writer, once.
                let everything = try await node.ok(["operation": "search_by_value", "database": "dur", "table": "rec", "attribute": "id", "value": "*"])
                var byWriter: [Int: Set<Int>] = [:]
                for r in everything.arrayValue ?? [] {
                    if let id = r["id"]?.intValue, let w = r["writer"]?.intValue { byWriter[w, default: []].insert(id) }
                }
                #expect(byWriter.values.reduce(0) { $0 + $1.count } == count)
                for (w, expected) in byWriter {
                    let found = try await node.ok(["operation": "search_by_value", "database": "dur", "table": "rec", "attribute": "writer", "value": JSON(w)])
                    let ids = (found.arrayValue ?? []).compactMap { $0["id"]?.intValue }
                    #expect(ids.count == expected.count && Set(ids) == expected, "writer \(w): the index found \(ids.count) of \(expected.count)")
                }
            }
        }
    }
}

final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
