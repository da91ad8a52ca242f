import Foundation
import SkeinCore
import SkeinLauncher

/// A throwaway node (store, auditd, gateway, and optionally the replicator, as real
/// processes from this binary's directory) in a temp directory.
final class BenchNode {
    let name: String
    let host: String
    let root: String
    let port: Int
    /// The REST interface's port (`http.port`).
    let restPort: Int
    let password = "bench-password"
    var processes: [String: ChildProcess] = [:]
    let binDir: String

    /// Writes the node's config.yaml (a single node named `name`; `configure` adds to it,
    /// e.g. replication routes and `tls`) and starts `services`.
    init(name: String = "bench", host: String = "127.0.0.1", port: Int, services: [String] = ["store", "auditd", "gateway"],
         configure: (inout NodeConfigBuilder) -> Void = { _ in }) throws {
        self.name = name
        self.host = host
        root = "/tmp/skbench-\(UUID().uuidString.prefix(8))"
        self.port = port
        restPort = try FreePort.on(host)
        binDir = ServiceLaunch.programDirectory
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        BenchGuard.shared.removeOnAbort(root)
        var config = NodeConfigBuilder(rootPath: root)
        config.operationsAPI(host: host, port: port)
        config.set("operationsApi.network.maxBodySize", "64M")
        config.rest(port: restPort)
        config.set("replication.hostname", .string(name))
        // `notice`: a kept run's store log says when writes waited for the index worker
        // (`storage.indexBacklogLimit`), which is what paces a large catch-up.
        config.logging(level: "notice")
        config.admin(username: "admin", password: password)
        configure(&config)
        try config.yaml().write(toFile: root + "/config.yaml", atomically: true, encoding: .utf8)
        for service in services { try start(service) }
    }

    var authorization: String { "Basic " + Data("admin:\(password)".utf8).base64EncodedString() }
    func endpoint(_ socket: String) -> String { "ipc://\(root)/run/\(socket).sock" }
    var storeEndpoint: String { endpoint("store") }

    /// Starts a service; `environment` adds overrides (e.g. `SKEIN_LOGGING_LEVEL`).
    func start(_ service: String, environment: [String: String] = [:]) throws {
        guard let nodeService = NodeService(rawValue: service) else { throw BenchError("no service \(service)") }
        let p = try BenchGuard.shared.processes.start(ServiceLaunch(nodeService, binDir: binDir, config: root + "/config.yaml"),
                                                      environment: ProcessInfo.processInfo.environment.merging(environment) { $1 },
                                                      output: "\(root)/\(service).out")
        processes[service] = p
    }

    /// SIGTERM, then SIGKILL after `grace` seconds; waits until it exited.
    func stop(_ service: String, grace: Double = 10) {
        guard let p = processes[service] else { return }
        BenchGuard.shared.processes.stop([p], grace: grace)
    }

    func pid(_ service: String) -> Int32? { processes[service].map(\.pid) }

    /// Waits (60 s at most) until the node is ready as the launcher and the tests wait for
    /// theirs: `/health` answers 200 and the admin logs in.
    func waitHealthy() throws {
        let client = OperationsClient(baseURL: "http://\(host):\(port)", credentials: ClusterCredentials(username: "admin", password: password))
        let ready = try blocking {
            try await Poll(timeout: 60, every: .milliseconds(200)).until { await client.isReady() ? true : nil }
        }
        guard ready != nil else { throw BenchError("\(name) did not become healthy") }
    }

    /// One operation through the gateway; throws unless it answers 200.
    @discardableResult
    func operation(_ body: JSON) throws -> JSON {
        let client = try HTTPLoadClient(host: host, port: port)
        let (status, reply) = try client.post(body.serialized(), authorization: authorization)
        guard status == 200 else { throw BenchError("\(name) \(body["operation"]?.stringValue ?? "?"): HTTP \(status) \(String(decoding: reply.prefix(300), as: UTF8.self))") }
        return try JSON.parse(reply)
    }

    /// Starts a job (Harper's `Starting job with id`) and waits until it completes.
    func job(_ body: JSON, timeout: TimeInterval = 600) throws {
        let started = try operation(body)
        guard let id = started["job_id"]?.stringValue else { throw BenchError("\(name): no job id in \(started)") }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let job = try operation(["operation": "get_job", "id": .string(id)]).arrayValue?.first
            switch job?["status"]?.stringValue {
            case "COMPLETE": return
            case "ERROR": throw BenchError("\(name): job \(id) failed: \(job?["message"]?.stringValue ?? "?")")
            default: Thread.sleep(forTimeInterval: 0.05)
            }
        }
        throw BenchError("\(name): job \(id) did not finish in \(Int(timeout)) s")
    }

    func shutdown() {
        BenchGuard.shared.processes.stop(Array(processes.values), grace: 10)
        if ProcessInfo.processInfo.environment["SKEIN_BENCH_KEEP"] == nil { try? FileManager.default.removeItem(atPath: root) }
    }
}
