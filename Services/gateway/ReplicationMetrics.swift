import SkeinCore

/// The replication part of `GET /metrics`, from the merged `cluster_status`: refused
/// connections (certificate or identity) and, per peer and database, whether the
/// subscription is up, how far behind it is, the lag of the last applied write and the
/// bytes/s received. Empty when no replicator runs.
enum ReplicationMetrics {
    static func render(_ status: JSON) -> String {
        guard status["is_enabled"] == true else { return "" }
        var out = "# HELP skein_replication_refused_connections_total Replication connections refused (certificate, name, revoked, unknown node).\n"
        out += "# TYPE skein_replication_refused_connections_total counter\n"
        out += "skein_replication_refused_connections_total \(status["refused_connections"]?.intValue ?? 0)\n"
        let gauges: [(name: String, help: String, field: String, type: String)] = [
            ("skein_replication_connected", "1 when this node's subscription to the peer is up.", "connected", "gauge"),
            ("skein_replication_entries_behind", "Entries of the peer's log not applied here yet.", "entries_behind", "gauge"),
            ("skein_replication_lag_ms", "From the newest write of the last applied batch (peer clock) to its apply here.", "lag_ms", "gauge"),
            ("skein_replication_received_bytes_per_second", "Bytes per second received from the peer.", "bytes_per_second", "gauge"),
            ("skein_replication_clock_skew_paused", "1 while the link waits for local time to reach a peer write too far ahead.", "clock_skew", "gauge"),
            ("skein_replication_clock_skew_pauses_total", "Times the link paused for a peer write further ahead than replication.maxClockSkew.", "clock_skew_pauses", "counter"),
        ]
        for gauge in gauges {
            out += "# HELP \(gauge.name) \(gauge.help)\n# TYPE \(gauge.name) \(gauge.type)\n"
            for connection in status["connections"]?.arrayValue ?? [] {
                let peer = GatewayMetrics.escape(connection["name"]?.stringValue ?? "")
                for socket in connection["database_sockets"]?.arrayValue ?? [] {
                    let value: Double?
                    switch socket[gauge.field] {
                    case .bool(let b)?: value = b ? 1 : 0
                    case .string?: value = 1
                    case .null?: value = gauge.field == "clock_skew" ? 0 : nil
                    case let v?: value = v.doubleValue
                    case nil: value = nil
                    }
                    guard let value else { continue }
                    let database = GatewayMetrics.escape(socket["database"]?.stringValue ?? "")
                    out += "\(gauge.name){peer=\"\(peer)\",database=\"\(database)\"} \(value)\n"
                }
            }
        }
        return out
    }
}
