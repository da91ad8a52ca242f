import CoreMetrics
import SkeinCore
import SkeinService

/// `GET /metrics` for the whole node (docs/INTERFACES.md "Metrics"): the gateway's own
/// metrics, the replication view from `cluster_status`, and each service's answer to the
/// `metrics` RPC (store, auditd, every replicator), merged into one exposition. A service
/// that does not answer within 2 s is left out and shows in `skein_service_up{service}`.
struct NodeScrape: Sendable {
    let own: ServiceMetrics
    let store: RPCClient
    let auditd: RPCClient
    let replicators: ReplicatorSet

    static let timeoutMillis = 2000

    func text() async -> String {
        async let storeText = Self.ask(store)
        async let auditdText = Self.ask(auditd)
        async let replicatorTexts = replicators.metricsTexts()
        async let replication = ReplicationMetrics.render(replicators.clusterStatus())
        let (storeAnswer, auditdAnswer, replicatorAnswers) = await (storeText, auditdText, replicatorTexts.map(\.text))
        for (service, text) in [("store", storeAnswer), ("auditd", auditdAnswer)] {
            Gauge(label: "skein_service_up", dimensions: [("service", service)]).record(text == nil ? 0 : 1)
        }
        // Replicators are optional (none on a node that does not replicate): how many answered.
        Gauge(label: "skein_service_up", dimensions: [("service", "replicator")]).record(replicatorAnswers.count { $0 != nil })
        let texts = [own.text(), await replication, storeAnswer, auditdAnswer] + replicatorAnswers
        return PrometheusText.merge(texts.compactMap { $0 })
    }

    /// A service's Prometheus text, or nil when it did not answer.
    static func ask(_ client: RPCClient) async -> String? {
        try? await client.call(op: ServiceMetrics.operation, body: [:], timeoutMillis: timeoutMillis)["text"]?.stringValue
    }
}
