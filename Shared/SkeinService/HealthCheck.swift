import Foundation
import Logging
import SkeinCore

/// `skein-SERVICE --health --config NODE.yaml`: asks the running service for its status
/// over its ZeroMQ endpoint and exits 0 when it answers within 2 s, 1 otherwise. Container
/// health checks and scripts use it; it never writes to the service's log.
public enum HealthCheck {
    public static let timeoutMillis = 2000

    public static func requested(_ arguments: [String] = CommandLine.arguments) -> Bool {
        arguments.dropFirst().contains("--health")
    }

    /// Exits the process with the outcome when `--health` was given; returns otherwise.
    public static func runIfRequested(service: String, endpoint: String, curve: CurveKeys?, op: String, arguments: [String] = CommandLine.arguments) {
        guard requested(arguments) else { return }
        var quiet = Logger(label: "skein-health")
        quiet.logLevel = .critical
        let client = RPCClient(serviceName: service, endpoint: endpoint, curve: curve, timeoutMillis: timeoutMillis, logger: quiet)
        do {
            try client.start()
            let reply = try client.callBlocking(RPCRequest(header: ["op": .string(op)], body: Array("{}".utf8)))
            guard reply.status < 400 else { throw SkeinError.unavailable("status \(reply.status)") }
            print("\(service): ok")
            exit(0)
        } catch {
            print("\(service): unhealthy: \(error)")
            exit(1)
        }
    }
}
