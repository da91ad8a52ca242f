import Foundation
import SkeinCore

extension ClusterBench {
    /// Phase 4: node-c's replicator is stopped (SIGTERM), `catchup-records` records are written
    /// on node-a (node-b keeps up), then node-c's replicator starts again; the clock runs from
    /// that start (process start and TLS connection included) until node-c's store cursor
    /// for node-a reaches node-a's newest sequence (polled every 2 ms).
    func catchUp(_ origin: ClusterNode, _ online: ClusterNode, _ returning: ClusterNode) throws {
        let records = options["catchup-records"]!, batch = options["catchup-batch"]!
        print("\n4. catch-up: node-c's replicator stopped while node-a takes \(records) records in batches of \(batch)")
        try createTable("catchup", on: origin, followers: [online, returning])
        returning.node.stop("replicator")
        let cursor = try returning.cursor(of: origin.name)
        let written = try fill("catchup", records: records, batch: batch, on: origin, label: "writing on node-a (node-b replicates)")
        try waitApplied(from: origin, by: [online])
        let newest = try origin.newestSequence()
        let restarted = Date()
        try returning.node.start("replicator")
        let cpu = cpuAccount()
        let caughtUp = try returning.waitForCursor(of: origin.name, atLeast: newest, timeout: Self.applyTimeout)
        report.catchupEntries = Int(newest - cursor)
        report.catchupRecords = written
        report.catchupSeconds = caughtUp.timeIntervalSince(restarted)
        print(String(format: "%@ %10.0f entries/s  %.0f records/s  (%d log entries, %d records in %.2f s)", "node-c caught up".column as NSString,
                     report.catchupEPS, report.catchupRPS, report.catchupEntries, written, report.catchupSeconds))
        print(cpu.summary())
    }
}
