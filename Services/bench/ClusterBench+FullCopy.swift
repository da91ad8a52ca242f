import Foundation
import SkeinBenchPlots
import SkeinCore

extension ClusterBench {
    /// The full copy (last, so that node-b and node-c can be stopped and node-a loads at its
    /// own speed): node-a holds exactly `copy-records` records (the earlier tables dropped,
    /// their log entries deleted with `delete_audit_logs_before`, so node-a's log starts with
    /// a hole); node-d joins with a route to node-a only, is told `pruned` and copies
    /// (docs/INTERFACES.md §8). The copy's time is between node-d's replicator log lines
    /// `full copy started` and `full copy finished` for `data`; memory is sampled every 50 ms.
    func fullCopy(_ origin: ClusterNode, newcomer: ClusterNode.Address, pki: BenchPKI, droppedTables: [String]) throws {
        let records = options["copy-records"]!
        print("\n5. full copy of \(records) records from node-a to a new node-d (node-b and node-c stopped)")
        for node in running where node !== origin { node.shutdown() }
        running = [origin]
        for table in droppedTables { try origin.node.operation(["operation": "drop_table", "database": "data", "table": .string(table)]) }
        let before = (Date().timeIntervalSince1970 * 1000).rounded(.up) + 1
        for table in droppedTables {
            try origin.node.job(["operation": "delete_audit_logs_before", "database": "data", "table": .string(table), "timestamp": .number(before)])
        }
        try origin.node.operation(["operation": "create_table", "database": "data", "table": "copy", "primary_key": "id"])
        let loading = Date()
        // The load goes in whole rounds of clients × batch: what it wrote is what node-d must hold.
        let loaded = try fill("copy", records: records, batch: load.batch, on: origin, label: "loading node-a")
        print(String(format: "loaded in %.1f s", Date().timeIntervalSince(loading)))

        let publisherPIDs = [origin.node.pid("store")!, origin.node.pid("replicator")!]
        let publisherBase = RSSSampler.memory(publisherPIDs)
        let node = try ClusterNode(newcomer, routes: [origin.address], pki: pki, startReplicator: false)
        running.append(node)
        let sampler = RSSSampler()
        sampler.watch("publisher", publisherPIDs)
        sampler.start()
        let spawned = Date()
        try node.node.start("replicator", environment: ["SKEIN_LOGGING_LEVEL": "info"])
        let cpu = cpuAccount()
        let receiverPIDs = [node.node.pid("store")!, node.node.pid("replicator")!]
        sampler.watch("receiver", receiverPIDs)
        let log = ReplicatorLog(node: node.node)
        let progress = copyProgress(on: node)
        let copyStart = try log.waitFor("full copy started", database: "data", timeout: 60)
        let receiverBase = RSSSampler.memory(receiverPIDs)
        let copyEnd = try log.waitFor("full copy finished", database: "data", timeout: Self.applyTimeout)
        let peaks = sampler.stop()
        figures.add(.copyProgress(name: "cluster-copy", title: "full copy node-a → node-d: rows on node-d (describe_table, every 250 ms)",
                                  samples: progress.stop(origin: copyStart.time)))
        print(cpu.summary())

        let copied = copyEnd.fields["rows"].flatMap { Int($0) } ?? 0
        let seconds = copyEnd.time.timeIntervalSince(copyStart.time)
        let recordBytes = try meanRecordBytes(on: node, table: "copy", records: records)
        let count = try node.node.operation(["operation": "describe_table", "database": "data", "table": "copy"])["record_count"]?.intValue ?? -1
        report.copyRecords = copied
        report.copySeconds = seconds
        report.copyBytes = Double(copied) * recordBytes
        report.copyMemory = ["publisher": (publisherBase, peaks["publisher"] ?? publisherBase), "receiver": (receiverBase, peaks["receiver"] ?? receiverBase)]
        print(String(format: "%@ %10.0f records/s  %.1f MB/s  (%d rows, %.0f bytes each, in %.2f s; %.2f s from starting node-d's replicator; node-d holds %d)",
                     "full copy".column as NSString, report.copyRPS, report.copyMBps, copied, recordBytes, seconds, copyEnd.time.timeIntervalSince(spawned), count))
        for side in ["publisher", "receiver"] {
            let (base, peak) = report.copyMemory[side]!
            print(String(format: "%@ VmRSS +%.1f MB (%.0f → peak %.0f MB), RssAnon +%.1f MB (%.0f → peak %.0f MB)",
                         "\(side == "publisher" ? "node-a" : "node-d") store+replicator".column as NSString,
                         Double(peak.resident - base.resident) / 1e6, Double(base.resident) / 1e6, Double(peak.resident) / 1e6,
                         Double(peak.anonymous - base.anonymous) / 1e6, Double(base.anonymous) / 1e6, Double(peak.anonymous) / 1e6))
        }
        guard count == loaded else { throw BenchError("node-d holds \(count) records of data.copy after the full copy, expected \(loaded)") }
    }

    /// Samples the rows of `data.copy` on `node` (its `describe_table` record count) while
    /// it copies: the copy-progress figure.
    func copyProgress(on node: ClusterNode) -> ProgressSampler {
        nonisolated(unsafe) let bench = node.node
        let sampler = ProgressSampler {
            (try? bench.operation(["operation": "describe_table", "database": "data", "table": "copy"]))?["record_count"]?.intValue
        }
        sampler.start()
        return sampler
    }

    /// Mean size of a stored record's JSON (with `__createdtime__` and `__updatedtime__`),
    /// from 100 records spread over the table, read back on `node`.
    func meanRecordBytes(on node: ClusterNode, table: String, records: Int) throws -> Double {
        let ids = stride(from: 0, to: records, by: max(1, records / 100)).map { JSON($0) }
        let found = try node.node.operation(["operation": "search_by_id", "database": "data", "table": .string(table),
                                             "ids": .array(ids), "get_attributes": ["*"]]).arrayValue ?? []
        guard !found.isEmpty else { throw BenchError("no records of \(table) found on \(node.name)") }
        return Double(found.reduce(0) { $0 + $1.serialized().count }) / Double(found.count)
    }
}
