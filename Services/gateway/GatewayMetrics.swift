import Foundation

/// Request counts and latencies in Prometheus' text format (`GET /metrics`).
final class GatewayMetrics: @unchecked Sendable {
    private let lock = NSLock()
    private var requests: [RequestKey: Int] = [:]

    struct RequestKey: Hashable, Comparable {
        let operation: String
        let status: Int
        static func < (a: RequestKey, b: RequestKey) -> Bool { (a.operation, a.status) < (b.operation, b.status) }
    }
    private var latency = Histogram()
    private var backend: [String: Histogram] = [:]  // store/auditd round trips
    private var backendFailures: [String: Int] = [:]

    struct Histogram {
        static let bounds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
        var buckets = [Int](repeating: 0, count: bounds.count)
        var count = 0
        var sum = 0.0

        mutating func observe(_ seconds: Double) {
            for (i, b) in Self.bounds.enumerated() where seconds <= b { buckets[i] += 1 }
            count += 1
            sum += seconds
        }

        func render(_ name: String, labels: String, into out: inout String) {
            let sep = labels.isEmpty ? "" : ","
            for (i, b) in Self.bounds.enumerated() { out += "\(name)_bucket{\(labels)\(sep)le=\"\(b)\"} \(buckets[i])\n" }
            out += "\(name)_bucket{\(labels)\(sep)le=\"+Inf\"} \(count)\n"
            out += "\(name)_sum{\(labels)} \(sum)\n\(name)_count{\(labels)} \(count)\n"
        }
    }

    func recordRequest(operation: String, status: Int, seconds: Double) {
        lock.lock()
        requests[RequestKey(operation: operation, status: status), default: 0] += 1
        latency.observe(seconds)
        lock.unlock()
    }

    func recordBackend(_ service: String, seconds: Double, failed: Bool) {
        lock.lock()
        backend[service, default: Histogram()].observe(seconds)
        if failed { backendFailures[service, default: 0] += 1 }
        lock.unlock()
    }

    /// Prometheus label escaping: backslash, quote and newline.
    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    func render() -> String {
        lock.lock()
        defer { lock.unlock() }
        var out = "# HELP skein_requests_total Operations API requests by operation and HTTP status.\n# TYPE skein_requests_total counter\n"
        for (key, n) in requests.sorted(by: { $0.key < $1.key }) {
            out += "skein_requests_total{operation=\"\(Self.escape(key.operation))\",status=\"\(key.status)\"} \(n)\n"
        }
        out += "# HELP skein_request_duration_seconds Operations API request latency.\n# TYPE skein_request_duration_seconds histogram\n"
        latency.render("skein_request_duration_seconds", labels: "", into: &out)
        out += "# HELP skein_backend_duration_seconds Round trips from the gateway to store and auditd.\n# TYPE skein_backend_duration_seconds histogram\n"
        for (service, h) in backend.sorted(by: { $0.key < $1.key }) {
            h.render("skein_backend_duration_seconds", labels: "service=\"\(service)\"", into: &out)
        }
        out += "# HELP skein_backend_failures_total Round trips that failed (service unavailable or timed out).\n# TYPE skein_backend_failures_total counter\n"
        for (service, n) in backendFailures.sorted(by: { $0.key < $1.key }) {
            out += "skein_backend_failures_total{service=\"\(service)\"} \(n)\n"
        }
        return out
    }
}
