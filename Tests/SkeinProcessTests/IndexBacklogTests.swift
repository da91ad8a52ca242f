import Foundation
import SkeinCore
import Testing

extension ProcessTests {
    /// A database's index backlog stays bounded under a write load (`storage.indexBacklogLimit`,
    /// `IndexBacklogGate`): its record writes wait while the limit is reached, every write
    /// is still answered, and the indexes end up holding every record.
    @Suite(.serialized) struct IndexBacklogTests {
        @Test func writesWaitForTheIndexesAtTheBacklogLimit() async throws {
            let limit = 600
            try await withNode(config: ["storage.indexBacklogLimit": "\(limit)"]) { node in
                try await node.freshTable("held", "rows")
                let clients = 8, batches = 10, batch = 100
                // The highest backlog seen in the scrapes during the load.
                let sampler = Task { () -> Int in
                    var highest = 0
                    while !Task.isCancelled {
                        if let n = try? await Scrape(node).value("skein_store_index_backlog_records", ["database": "held"]) {
                            highest = max(highest, Int(n))
                        }
                        try? await Task.sleep(for: .milliseconds(20))
                    }
                    return highest
                }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for c in 0..<clients {
                        group.addTask {
                            for b in 0..<batches {
                                let records = (0..<batch).map { i -> JSON in
                                    ["id": .string("c\(c)-\(b)-\(i)"), "n": JSON(i), "tag": .string("t\((c * 31 + b * 7 + i) % 50)")]
                                }
                                _ = try await node.insert("held", "rows", records)
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                sampler.cancel()
                let highest = await sampler.value
                let scrape = try await Scrape(node)
                #expect(scrape.value("skein_store_index_backlog_holds_total") ?? 0 >= 1, "the load never reached the limit: \(scrape.text)")
                // One group may take every client's batch before its commit notes the backlog.
                #expect(highest <= limit + clients * batch, "backlog reached \(highest)")
                let log = (try? String(contentsOfFile: node.root + "/log/store.log", encoding: .utf8)) ?? ""
                #expect(log.contains("record writes wait for the index worker"), "no notice in store.log")
                // Every record is there and found through its index.
                let total = clients * batches * batch
                let described = try await node.ok(["operation": "describe_table", "database": "held", "table": "rows"])
                #expect(described["record_count"]?.intValue == total)
                let tagged = try await node.ok(["operation": "search_by_value", "database": "held", "table": "rows",
                                                "search_attribute": "tag", "search_value": "t7", "get_attributes": ["id"]])
                let expected = (0..<clients).flatMap { c in (0..<batches).flatMap { b in (0..<batch).filter { (c * 31 + b * 7 + $0) % 50 == 7 } } }.count
                #expect(tagged.arrayValue?.count == expected)
            }
        }
    }
}
