import Foundation
import SkeinCore
import Testing

extension ProcessTests {
    /// Replicas converge under races and crashes (last-write-wins, docs/INTERFACES.md §8).
    /// No timing assertions: every wait is bounded polling.
    @Suite(.serialized) struct ConvergenceTests {
        static let table = "race"

        /// node-a and node-b replicating with each other, both links up, table `race` on both.
        func withPair(_ body: (Peer, Peer) async throws -> Void) async throws {
            try await withReplicatingPair { a, b in
                try await a.node.ok(["operation": "create_table", "database": "data", "table": .string(Self.table), "primary_key": "id"])
                try await waitForTable(on: b)
                try await body(a, b)
            }
        }

        func waitForTable(on p: Peer, timeout: Double = 20) async throws {
            _ = try await pollUntil("table \(Self.table) on \(p.name)", timeout: timeout) { () -> Bool? in
                let (status, _) = try await p.node.post(["operation": "describe_table", "database": "data", "table": .string(Self.table)])
                return status == 200 ? true : nil
            }
        }

        /// The records of `ids` on `p`, sorted by id (nil when the request failed).
        func snapshot(_ p: Peer, _ ids: [Int]) async -> [JSON]? {
            guard let (status, json) = try? await p.node.post(["operation": "search_by_id", "database": "data", "table": .string(Self.table),
                                                               "ids": .array(ids.map { JSON($0) }), "get_attributes": ["*"]]),
                  status == 200, let rows = json.arrayValue else { return nil }
            return rows.sorted { ($0["id"]?.intValue ?? -1) < ($1["id"]?.intValue ?? -1) }
        }

        /// The ids of `ids` that `p` holds (nil when the request failed).
        func held(_ p: Peer, _ ids: [Int]) async -> Set<Int>? {
            var found = Set<Int>()
            for start in stride(from: 0, to: ids.count, by: 500) {
                guard let rows = await snapshot(p, Array(ids[start..<min(start + 500, ids.count)])) else { return nil }
                found.formUnion(rows.ids())
            }
            return found
        }

        /// Polls (≤ `timeout` s) until both peers return the same full records for `ids`,
        /// then checks they still agree a second later; returns the agreed records.
        func waitForAgreement(_ a: Peer, _ b: Peer, _ ids: [Int], timeout: Double = 20) async throws -> [JSON] {
            var last: ([JSON]?, [JSON]?) = (nil, nil)
            let agreed: [JSON]
            do {
                agreed = try await pollUntil("node-a and node-b agreeing on ids \(ids.first ?? 0)...\(ids.last ?? 0)", timeout: timeout) { () -> [JSON]? in
                    let sa = await snapshot(a, ids), sb = await snapshot(b, ids)
                    last = (sa, sb)
                    guard let sa, sa == sb else { return nil }
                    return sa
                }
            } catch {
                let diff = zip(last.0 ?? [], last.1 ?? []).filter { $0 != $1 }.prefix(3)
                Issue.record("last snapshots differ (\(last.0?.count ?? -1) vs \(last.1?.count ?? -1) records), e.g. \(Array(diff))")
                throw error
            }
            try await Task.sleep(for: .seconds(1))
            let (sa, sb) = (await snapshot(a, ids), await snapshot(b, ids))
            #expect(sa == agreed && sb == agreed, "the agreement did not last")
            return agreed
        }

        @Test func concurrentConflictingUpdatesConverge() async throws {
            try await withPair { a, b in
                let ids = Array(0..<20)
                _ = try await a.node.insert("data", Self.table, ids.map { ["id": JSON($0), "value": "initial", "by": "node-a"] })
                _ = try await pollUntil("ids 0..19 on node-b") { () -> Bool? in
                    await held(b, ids)?.count == ids.count ? true : nil
                }

                /// Updates every id on `p` with values naming `p` and the round, for ~2 s
                /// (200 rounds at most); returns how many updates answered 200.
                @Sendable func hammer(_ p: Peer) async -> Int {
                    let end = Date().addingTimeInterval(2)
                    var ok = 0
                    for round in 0..<200 where Date() < end {
                        let records: [JSON] = ids.map { ["id": JSON($0), "value": .string("\(p.name) round \(round)"), "by": .string(p.name)] }
                        if let (status, _) = try? await p.node.post(["operation": "update", "database": "data", "table": .string(Self.table),
                                                                     "records": .array(records)], timeout: 10), status == 200 { ok += 1 }
                    }
                    return ok
                }
                async let onA = hammer(a)
                async let onB = hammer(b)
                let (okA, okB) = await (onA, onB)
                #expect(okA > 0 && okB > 0, "updates answered 200: node-a \(okA), node-b \(okB)")

                let agreed = try await waitForAgreement(a, b, ids)
                #expect(agreed.ids() == ids, "every record is still there: \(agreed.ids())")
                for r in agreed {
                    // One value per record, and it is one of the written ones (fields merged consistently).
                    let by = r["by"]?.stringValue ?? "?"
                    #expect(["node-a", "node-b"].contains(by) && r["value"]?.stringValue?.hasPrefix(by + " round ") == true, "\(r)")
                }
            }
        }

        @Test func deleteRacingAnUpdateConverges() async throws {
            try await withPair { a, b in
                let ids = Array(0..<20)
                _ = try await a.node.insert("data", Self.table, ids.map { ["id": JSON($0), "value": "initial"] })
                _ = try await pollUntil("ids 0..19 on node-b") { () -> Bool? in
                    await held(b, ids)?.count == ids.count ? true : nil
                }

                let racing = Array(0..<10)
                async let deleted: Int? = {
                    guard let (status, _) = try? await a.node.post(["operation": "delete", "database": "data", "table": .string(Self.table),
                                                                    "ids": .array(racing.map { JSON($0) })], timeout: 10) else { return nil }
                    return status
                }()
                async let updated: Int = {
                    var ok = 0
                    for round in 0..<5 {
                        let records: [JSON] = racing.map { ["id": JSON($0), "value": .string("node-b round \(round)")] }
                        if let (status, _) = try? await b.node.post(["operation": "update", "database": "data", "table": .string(Self.table),
                                                                     "records": .array(records)], timeout: 10), status == 200 { ok += 1 }
                    }
                    return ok
                }()
                let (deleteStatus, updates) = await (deleted, updated)
                #expect(deleteStatus == 200)
                #expect(updates > 0)

                // Each id is absent on both or the same record on both.
                let agreed = try await waitForAgreement(a, b, ids)
                #expect(Set(10..<20).isSubset(of: Set(agreed.ids())), "untouched ids kept: \(agreed.ids())")
            }
        }

        @Test func killingEachServiceUnderLoadLosesNoAcknowledgedWrite() async throws {
            actor Load {
                var acknowledged = Set<Int>()
                var stopped = false
                func add(_ ids: [Int]) { acknowledged.formUnion(ids) }
                func stop() { stopped = true }
            }
            try await withPair { a, b in
                let load = Load()
                // 4 writers, batches of 10 fresh ids, paced so the load lasts through every kill
                // below, 400 batches each at most.
                let writers = (0..<4).map { w in
                    Task { () -> Int in
                        var failures = 0
                        for batch in 0..<400 {
                            if await load.stopped { break }
                            let ids = (0..<10).map { w * 100_000 + batch * 10 + $0 }
                            let records: [JSON] = ids.map { ["id": JSON($0), "writer": JSON(w), "batch": JSON(batch)] }
                            if let (status, _) = try? await a.node.post(["operation": "insert", "database": "data", "table": .string(Self.table),
                                                                         "records": .array(records)], timeout: 10), status == 200 {
                                await load.add(ids)
                                try? await Task.sleep(for: .milliseconds(25))
                            } else {
                                failures += 1
                                try? await Task.sleep(for: .milliseconds(50))
                            }
                        }
                        return failures
                    }
                }
                func crash(_ p: Peer, _ service: Service) async throws {
                    try await Task.sleep(for: .milliseconds(700))
                    let pid = try #require(p.node.pid(service), "\(p.name)'s \(service.rawValue) is running before the kill")
                    await p.node.kill(service)
                    #expect(!p.node.isRunning(service))
                    try await Task.sleep(for: .milliseconds(500))
                    try p.node.start(service)
                    #expect(p.node.pid(service) != pid)
                }
                do {
                    try await crash(a, .replicator)
                    try await crash(b, .store)
                    try await crash(a, .auditd)
                    // A write whose answer the killed gateway never sent is not acknowledged: only
                    // acknowledged ones are checked.
                    try await crash(a, .gateway)
                    _ = try await pollUntil("node-a's gateway answering again") { () -> Bool? in
                        let (status, _) = try await a.node.get("/health", timeout: 2)
                        return status == 200 ? true : nil
                    }
                    try await Task.sleep(for: .milliseconds(700))
                } catch {
                    await load.stop()
                    for w in writers { _ = await w.value }
                    throw error
                }
                await load.stop()
                var failures = 0
                for w in writers { failures += await w.value }
                let acknowledged = await load.acknowledged.sorted()
                #expect(!acknowledged.isEmpty)
                print("ConvergenceTests: \(acknowledged.count) acknowledged ids, \(failures) failed batches")

                let settling = Date()
                defer { print("ConvergenceTests: settled in \(Int(Date().timeIntervalSince(settling) * 1000)) ms") }
                var missing: (a: Int, b: Int) = (-1, -1)
                do {
                    _ = try await pollUntil("every acknowledged id on node-a and node-b", timeout: 30) { () -> Bool? in
                        guard let onA = await held(a, acknowledged), let onB = await held(b, acknowledged) else { return nil }
                        missing = (acknowledged.count - onA.count, acknowledged.count - onB.count)
                        return missing == (0, 0) ? true : nil
                    }
                } catch {
                    Issue.record("acknowledged ids missing: \(missing.a) on node-a, \(missing.b) on node-b (of \(acknowledged.count))")
                    throw error
                }
            }
        }

        /// node-b's writes, applied on node-a, are node-c's to take from node-b: node-a's
        /// publisher to node-c is not woken by each of those commits to send node-c an empty
        /// batch (only its cursor moving) and take its ack; it lets the cursor pass them at most
        /// every 200 ms. Before, each of node-a's applies of node-b's batches sent one.
        @Test func anotherOriginsCommitsSendNoEmptyBatchEach() async throws {
            try await withReplicatingTrio { a, b, c in
                try await b.node.ok(["operation": "create_table", "database": "data", "table": .string(Self.table), "primary_key": "id"])
                try await waitForTable(on: a)
                try await waitForTable(on: c)
                let ids = Array(0..<40)
                for id in ids { _ = try await b.node.insert("data", Self.table, [["id": JSON(id), "from": "node-b"]]) }
                for p in [a, c] {
                    _ = try await pollUntil("all on \(p.name)", timeout: 20) { () -> Bool? in await held(p, ids)?.count == ids.count ? true : nil }
                }
                let onA = try await Scrape(a.node)
                let applies = onA.value("skein_replicator_batches_received_total", ["peer": "node-b", "database": "data"]) ?? 0
                let empties = onA.value("skein_replicator_empty_batches_sent_total", ["peer": "node-c", "database": "data"]) ?? 0
                #expect(applies >= 10, "node-a applied node-b's 40 writes in \(applies) commits")
                #expect(empties * 2 <= applies, "node-a sent node-c \(empties) empty batches for \(applies) commits of node-b's writes")
            }
        }

        /// node-c is down while node-a and node-b take writes; started again, it catches up.
        @Test func nodeCatchesUpAfterBeingStopped() async throws {
            try await withReplicatingTrio { a, b, c in
                try await a.node.ok(["operation": "create_table", "database": "data", "table": .string(Self.table), "primary_key": "id"])
                try await waitForTable(on: c)
                try await waitForTable(on: b)

                for service in c.node.services.reversed() { await c.node.stop(service) }
                let fromA = Array(0..<50), fromB = Array(100..<150)
                _ = try await a.node.insert("data", Self.table, fromA.map { ["id": JSON($0), "from": "node-a"] })
                _ = try await b.node.insert("data", Self.table, fromB.map { ["id": JSON($0), "from": "node-b"] })

                for service in c.node.services { try c.node.start(service) }
                let all = fromA + fromB
                _ = try await pollUntil("all \(all.count) records on node-c", timeout: 30) { () -> Bool? in
                    await held(c, all)?.count == all.count ? true : nil
                }
                let onC = try #require(await snapshot(c, all))
                #expect(onC.filter { $0["from"] == "node-a" }.ids() == fromA)
                #expect(onC.filter { $0["from"] == "node-b" }.ids() == fromB)
                // And all three agree.
                _ = try await waitForAgreement(a, c, all)
                _ = try await waitForAgreement(b, c, all)
            }
        }
    }
}
