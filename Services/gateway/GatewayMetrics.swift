import CoreMetrics
import Foundation

/// The gateway's own metrics, recorded through swift-metrics (the Prometheus backend that
/// `ServiceMetrics` bootstraps renders them): requests by operation and HTTP status, their
/// latency, and round trips to store and auditd.
struct GatewayMetrics: Sendable {
    private let latency = CoreMetrics.Timer(label: "skein_request_duration_seconds")

    func recordRequest(operation: String, status: Int, seconds: Double) {
        // Operation names are bounded by the caller (only known names), so are the labels.
        Counter(label: "skein_requests_total", dimensions: [("operation", operation), ("status", String(status))]).increment()
        latency.recordNanoseconds(Self.nanoseconds(seconds))
    }

    func recordBackend(_ service: String, seconds: Double, failed: Bool) {
        CoreMetrics.Timer(label: "skein_backend_duration_seconds", dimensions: [("service", service)])
            .recordNanoseconds(Self.nanoseconds(seconds))
        if failed { Counter(label: "skein_backend_failures_total", dimensions: [("service", service)]).increment() }
    }

    private static func nanoseconds(_ seconds: Double) -> Int64 { Int64((seconds * 1e9).rounded()) }
}
