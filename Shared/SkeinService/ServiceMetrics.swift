import CoreMetrics
import Foundation
import Logging
import Prometheus
import SkeinCore

/// One process's metrics: swift-metrics bootstrapped onto a Prometheus registry, rendered as
/// Prometheus text for the `metrics` RPC (docs/INTERFACES.md §5), which the gateway's
/// `GET /metrics` gathers from every service of the node. Services record through the plain
/// swift-metrics API (`Counter`, `Timer`, `Gauge`); values that are cheaper to read than to
/// track (LMDB map use) are sampled by `onScrape` hooks when a scrape asks.
public final class ServiceMetrics: Sendable {
    /// The RPC operation every service answers with its metrics.
    public static let operation = "metrics"

    public let registry: PrometheusCollectorRegistry
    private let scrapeHooks = Locked<[@Sendable () -> Void]>([])

    /// Bootstraps swift-metrics for this process (once: `MetricsSystem` is process-wide).
    /// `labels` are added to every metric this process records: a replicator names itself,
    /// as a node may run one per region and their metrics meet in one scrape.
    /// Timers get `latencyBuckets`; `valueBuckets`: bounds of value histograms by metric
    /// name (writes per group commit).
    public static func bootstrap(labels: [(String, String)] = [], valueBuckets: [String: [Double]] = [:]) -> ServiceMetrics {
        let metrics = ServiceMetrics(registry: PrometheusCollectorRegistry())
        var factory = PrometheusMetricsFactory(registry: metrics.registry)
        factory.defaultDurationHistogramBuckets = Self.latencyBuckets
        factory.valueHistogramBuckets = valueBuckets
        if !labels.isEmpty {
            factory.nameAndLabelSanitizer = { name, own in (name, own + labels) }
        }
        MetricsSystem.bootstrap(factory)
        return metrics
    }

    /// 0.5 ms to 10 s: local round trips and commits are sub-millisecond to a few ms.
    public static let latencyBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
        .seconds(5), .seconds(10),
    ]

    init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    /// Runs `sample` before each scrape (it sets gauges from state read then).
    public func onScrape(_ sample: @escaping @Sendable () -> Void) {
        scrapeHooks.withLock { $0.append(sample) }
    }

    /// The Prometheus text exposition (format 0.0.4) of everything recorded so far.
    public func text() -> String {
        for sample in scrapeHooks.withLock({ $0 }) { sample() }
        return registry.emitToString()
    }

    /// The `metrics` RPC's answer: `{"format": "prometheus-text-0.0.4", "text": "..."}`.
    public func reply() -> RPCReply {
        RPCReply(json: ["format": .string(Self.format), "text": .string(text())])
    }

    public static let format = "prometheus-text-0.0.4"
}

extension RPCServer {
    /// Serves `handler`, answering the `metrics` operation from `metrics` itself: one home
    /// for the RPC in every service. Rendered off the socket's thread (handlers only queue
    /// work: a scrape samples LMDB environments).
    public convenience init(endpoint: String, curve: CurveKeys? = nil, metrics: ServiceMetrics, logger: Logger,
                            handler: @escaping Handler) {
        self.init(endpoint: endpoint, curve: curve, logger: logger) { request, respond in
            if request.operation == ServiceMetrics.operation {
                DispatchQueue.global().async { respond(metrics.reply()) }
            } else {
                handler(request, respond)
            }
        }
    }
}
