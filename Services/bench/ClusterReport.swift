import Foundation
import SkeinCore

/// Every figure of `skein-bench cluster`, printed as a table against the issue's targets
/// and as one JSON line.
struct ClusterReport {
    var singleNodeRPS = 0.0
    /// Records/s from the load's start until node-b and node-c applied all of it.
    var replicatedRPS = 0.0
    /// Records/s node-a acknowledged during that load.
    var replicatedAckRPS = 0.0
    var lagRateRPS = 0.0
    var lagP50 = 0.0, lagP99 = 0.0, lagMax = 0.0
    var lagSamples = 0, lagWrites = 0
    var copyRecords = 0
    var copySeconds = 0.0
    var copyBytes = 0.0
    /// node-a's (publisher) and node-d's (receiver) store+replicator memory before and at
    /// the peak of the copy.
    var copyMemory: [String: (base: RSSSampler.Memory, peak: RSSSampler.Memory)] = [:]
    var catchupEntries = 0, catchupRecords = 0
    var catchupSeconds = 0.0

    var ratio: Double { replicatedRPS / max(singleNodeRPS, 1) }
    var copyRPS: Double { Double(copyRecords) / max(copySeconds, 1e-9) }
    var copyMBps: Double { copyBytes / 1e6 / max(copySeconds, 1e-9) }
    var catchupEPS: Double { Double(catchupEntries) / max(catchupSeconds, 1e-9) }
    var catchupRPS: Double { Double(catchupRecords) / max(catchupSeconds, 1e-9) }

    /// Megabytes each side grew by during the copy: VmRSS, or only anonymous memory.
    func copyGrowthMB(anonymous: Bool) -> [String: Double] {
        copyMemory.mapValues { m in
            let grown = m.peak - m.base
            return Double(anonymous ? grown.anonymous : grown.resident) / 1e6
        }
    }

    func print(load: InsertLoad) {
        let rss = copyGrowthMB(anonymous: false), anon = copyGrowthMB(anonymous: true)
        let rows: [(String, String, String, Bool)] = [
            ("single-node write (gateway)", String(format: "%.0f records/s", singleNodeRPS), "", true),
            ("replicated write (a → b, c)", String(format: "%.0f records/s (a acked %.0f/s)", replicatedRPS, replicatedAckRPS), "", true),
            ("replicated / single-node", String(format: "%.2f", ratio), ">= 0.7", ratio >= 0.7),
            ("lag a → b p50 / p99 / max", String(format: "%.2f / %.2f / %.2f ms at %.0f records/s", lagP50, lagP99, lagMax, lagRateRPS), "p99 <= 10 ms", lagP99 <= 10),
            ("full copy", String(format: "%.0f records/s, %.1f MB/s (%d records)", copyRPS, copyMBps, copyRecords), ">= 100k records/s", copyRPS >= 100_000),
            // The goal is the heap (anonymous memory); VmRSS also counts the files' mapped pages.
            ("VmRSS growth in the copy", String(format: "publisher +%.1f MB, receiver +%.1f MB", rss["publisher"] ?? 0, rss["receiver"] ?? 0), "", true),
            ("  of it heap (RssAnon)", String(format: "publisher +%.1f MB, receiver +%.1f MB", anon["publisher"] ?? 0, anon["receiver"] ?? 0),
             "< 100 MB each", max(anon["publisher"] ?? 0, anon["receiver"] ?? 0) < 100),
            ("catch-up", String(format: "%.0f entries/s = %.0f records/s (%d entries)", catchupEPS, catchupRPS, catchupEntries), ">= 100k records/s", catchupRPS >= 100_000),
        ]
        Swift.print("\nskein-bench cluster: \(load.clients) clients, batches of \(load.batch) records (an audit entry = one batch)")
        for (name, value, target, met) in rows {
            let verdict = target.isEmpty ? "" : "target \(target): \(met ? "met" : "MISSED")"
            Swift.print(name.padding(toLength: 30, withPad: " ", startingAt: 0) + value.padding(toLength: 56, withPad: " ", startingAt: 0) + verdict)
        }
        Swift.print(json.text)
    }

    static func rounded(_ x: Double, _ places: Int = 0) -> JSON {
        let scale = pow(10, Double(places))
        return .number((x * scale).rounded() / scale)
    }

    var json: JSON {
        let r = Self.rounded
        return [
            "benchmark": "skein-cluster-replication", "nodes": 3,
            "single_node_rps": r(singleNodeRPS, 0), "replicated_rps": r(replicatedRPS, 0), "replicated_ack_rps": r(replicatedAckRPS, 0),
            "ratio": r(ratio, 2),
            "lag_p50_ms": r(lagP50, 2), "lag_p99_ms": r(lagP99, 2), "lag_max_ms": r(lagMax, 2), "lag_rate_rps": r(lagRateRPS, 0),
            "lag_samples": JSON(lagSamples), "lag_writes": JSON(lagWrites),
            "copy_records": JSON(copyRecords), "copy_seconds": r(copySeconds, 2), "copy_rps": r(copyRPS, 0), "copy_mbps": r(copyMBps, 1),
            "copy_rss_growth_mb": .object(copyGrowthMB(anonymous: false).mapValues { r($0, 1) }),
            "copy_anon_growth_mb": .object(copyGrowthMB(anonymous: true).mapValues { r($0, 1) }),
            "copy_rss_peak_mb": .object(copyMemory.mapValues { r(Double($0.peak.resident) / 1e6, 0) }),
            "catchup_entries": JSON(catchupEntries), "catchup_records": JSON(catchupRecords), "catchup_seconds": r(catchupSeconds, 2),
            "catchup_eps": r(catchupEPS, 0), "catchup_rps": r(catchupRPS, 0),
        ]
    }
}
