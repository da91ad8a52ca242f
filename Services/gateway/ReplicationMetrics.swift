import Prometheus
import SkeinCore

/// The node-wide replication view in `GET /metrics`, from the merged `cluster_status` (each
/// peer once, from the replicator that subscribes to it): refused connections and, per peer
/// and database, whether the subscription is up, how far behind it is, the lag of the last
/// applied write and the bytes/s received. A fresh registry each scrape: peers come and go.
/// Empty when no replicator runs. (Each replicator's own counters arrive through its
/// `metrics` answer, as `skein_replicator_*`.)
enum ReplicationMetrics {
    private static let gauges: [(name: String, help: String, field: String)] = [
        ("skein_replication_connected", "1 when this node's subscription to the peer is up.", "connected"),
        ("skein_replication_entries_behind", "Entries of the peer's log not applied here yet.", "entries_behind"),
        ("skein_replication_lag_ms", "From the newest write of the last applied batch (peer clock) to its apply here.", "lag_ms"),
        ("skein_replication_received_bytes_per_second", "Bytes per second received from the peer.", "bytes_per_second"),
        ("skein_replication_clock_skew_paused", "1 while the link waits for local time to reach a peer write too far ahead.", "clock_skew"),
    ]

    static func render(_ status: JSON) -> String {
        guard status["is_enabled"] == true else { return "" }
        let registry = PrometheusCollectorRegistry()
        registry.makeCounter(name: "skein_replication_refused_connections_total",
                             help: "Replication connections refused (certificate, name, revoked, unknown node).")
            .increment(by: Int64(status["refused_connections"]?.intValue ?? 0))
        for connection in status["connections"]?.arrayValue ?? [] {
            let peer = connection["name"]?.stringValue ?? ""
            for socket in connection["database_sockets"]?.arrayValue ?? [] {
                let labels = [("peer", peer), ("database", socket["database"]?.stringValue ?? "")]
                for gauge in gauges {
                    guard let value = value(socket[gauge.field], field: gauge.field) else { continue }
                    registry.makeGauge(name: gauge.name, labels: labels, help: gauge.help).set(value)
                }
                registry.makeCounter(name: "skein_replication_clock_skew_pauses_total", labels: labels,
                                     help: "Times the link paused for a peer write further ahead than replication.maxClockSkew.")
                    .increment(by: Int64(socket["clock_skew_pauses"]?.intValue ?? 0))
            }
        }
        return registry.emitToString()
    }

    /// A status field as a sample: booleans 1/0, a pause reason 1, no pause 0.
    private static func value(_ field: JSON?, field name: String) -> Double? {
        switch field {
        case .bool(let b)?: return b ? 1 : 0
        case .string?: return 1
        case .null?: return name == "clock_skew" ? 0 : nil
        case let v?: return v.doubleValue
        case nil: return nil
        }
    }
}
