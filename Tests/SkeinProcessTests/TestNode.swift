import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif
import SkeinCore
import SkeinLauncher
import Testing

/// The processes of a node (the replicator only where a test starts it): the launcher's.
typealias Service = NodeService

struct NodeError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One Skein node for a test: a temp root with a config.yaml and the store, auditd and
/// gateway processes built next to the test bundle, plus an HTTP client for its gateway.
/// Its config, processes and waits are the launcher library's (`NodeConfigBuilder`,
/// `ServiceLaunch`, `ChildProcess`, `Poll`, `OperationsClient.isReady`), as a local
/// cluster's and the benchmark's nodes are; what is its own is the temp root, the ports
/// and the services' exit statuses, which tests check.
final class TestNode: @unchecked Sendable {
    /// The node of the enclosing `.node()` suite (see `NodeTrait`).
    @TaskLocal static var current: TestNode?

    let root: String
    let configPath: String
    private(set) var port: Int
    /// The REST listener's port (`http.port`).
    private(set) var restPort: Int
    let adminUser = "admin"
    let adminPassword = "S3cret-admin"
    let extraConfig: [String: String]
    /// Config values set after the start (the replicator's keys), over `extraConfig`.
    private(set) var structuredConfig: [String: JSON] = [:]
    /// The services this node runs: store, auditd, gateway, plus the replicator once
    /// `startReplicator` was called.
    private(set) var services: [Service] = [.store, .auditd, .gateway]
    private let lock = NSLock()
    private var processes: [Service: ChildProcess] = [:]
    /// Further processes of a service (a second replicator for a region), stopped with the node.
    private var extras: [ChildProcess] = []
    /// The umask the services start with (`umask` of the shell that execs them); nil: ours.
    private(set) var launchUmask: String?
    let session: URLSession

    var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }

    /// Directory of the service binaries: the one the test bundle is in (`.build/debug`),
    /// or `SKEIN_BIN_DIR`.
    static let binDir: String = ProcessInfo.processInfo.environment["SKEIN_BIN_DIR"] ?? ServiceLaunch.programDirectory

    private init(extraConfig: [String: String]) throws {
        let letters = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        var root = ""
        repeat {
            root = "/tmp/skt-" + String((0..<8).map { _ in letters.randomElement()! })
        } while FileManager.default.fileExists(atPath: root)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        self.root = root
        configPath = root + "/config.yaml"
        self.extraConfig = extraConfig
        port = Self.freePort()
        restPort = Self.freePort()
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 30
        configuration.timeoutIntervalForResource = 60
        configuration.httpMaximumConnectionsPerHost = 16
        session = URLSession(configuration: configuration)
    }

    /// Writes the config, starts the three services and waits (30 s at most) until
    /// `/health` answers 200 and the admin can log in. Shuts everything down on failure.
    static func start(config extra: [String: String] = [:], umask: String? = nil) async throws -> TestNode {
        let node = try TestNode(extraConfig: extra)
        node.launchUmask = umask
        do {
            try await node.boot()
            return node
        } catch {
            let logs = node.outputTail()
            await node.shutdown()
            throw NodeError("node did not start: \(error)\n\(logs)")
        }
    }

    private func boot() async throws {
        for attempt in 1...3 {
            try writeConfig()
            for service in services where !isRunning(service) { try start(service) }
            if try await waitUntilReady(timeout: 30) { return }
            // The gateway exits when a port was taken meanwhile: pick others.
            guard !isRunning(.gateway), attempt < 3 else { break }
            port = Self.freePort()
            restPort = Self.freePort()
        }
        throw NodeError("not ready within 30 s")
    }

    /// Polls until the node is ready (`/health` answers and the admin logs in); false when
    /// the gateway exited (a port was taken) or the time ran out.
    private func waitUntilReady(timeout: Double) async throws -> Bool {
        let client = operations
        let ready = try await Poll(timeout: timeout, every: .milliseconds(100)).until { () -> Bool? in
            for s in services where !isRunning(s) {
                if s == .gateway { return false }
                throw NodeError("\(s.rawValue) exited during startup")
            }
            return await client.isReady() ? true : nil
        }
        return ready ?? false
    }

    /// The launcher's client of this node's gateway, with the admin's credentials.
    var operations: OperationsClient {
        OperationsClient(baseURL: baseURL.absoluteString, credentials: ClusterCredentials(username: adminUser, password: adminPassword))
    }

    // MARK: Configuration

    /// The node's config: a single node named `test-node` logging at debug, then the
    /// test's `extraConfig` (as strings) and `structuredConfig` over it.
    var config: NodeConfigBuilder {
        var config = NodeConfigBuilder(rootPath: root)
        config.operationsAPI(host: "127.0.0.1", port: port)
        config.rest(port: restPort)
        config.set("replication.hostname", "test-node")
        config.logging(level: "debug")
        config.admin(username: adminUser, password: adminPassword)
        for (key, value) in extraConfig { config.set(key, .string(value)) }
        for (key, value) in lock.withLock({ structuredConfig }) { config.set(key, value) }
        return config
    }

    func writeConfig() throws {
        try config.yaml().write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Sets the replicator's keys with the launcher's builder (`configure` starts from an
    /// empty one; what it sets goes over the node's config) and starts the replicator. Does
    /// not wait for it.
    func startReplicator(_ configure: (inout NodeConfigBuilder) -> Void) throws {
        var keys = NodeConfigBuilder(rootPath: root)
        configure(&keys)
        try startReplicator(config: keys.values.filter { $0.key != "rootPath" })
    }

    /// Adds `config` (structured values allowed) to the config file and starts the
    /// replicator. Does not wait for it.
    func startReplicator(config: [String: JSON]) throws {
        lock.withLock {
            for (k, v) in config { structuredConfig[k] = v }
            if !services.contains(.replicator) { services.append(.replicator) }
        }
        try writeConfig()
        try start(.replicator)
    }

    /// A port free on 127.0.0.1 now, never handed out before (`UnusedPorts`).
    static func freePort() -> Int { UnusedPorts.pick() }

    // MARK: Processes

    func isRunning(_ service: Service) -> Bool {
        lock.withLock { processes[service]?.isRunning ?? false }
    }

    func pid(_ service: Service) -> Int32? {
        lock.withLock {
            guard let p = processes[service], p.isRunning else { return nil }
            return p.pid
        }
    }

    /// Starts one service (output appended to `ROOT/SERVICE.out`), reading only its config
    /// file (no SKEIN_* or HDB_* override from the test environment). Does not wait for it.
    func start(_ service: Service) throws {
        let p = try ChildProcess(ServiceLaunch(service, binDir: Self.binDir, config: configPath, umask: launchUmask),
                                 environment: ServiceEnvironment.configFileOnly, output: "\(root)/\(service.rawValue).out")
        lock.withLock { processes[service] = p }
    }

    /// Starts one more process of `service` with environment overrides (e.g. a replicator
    /// with `SKEIN_REPLICATION_REGION`), output in `ROOT/NAME.out`. Stopped by `shutdown`.
    func startExtra(_ service: Service, name: String, environment: [String: String]) throws {
        let p = try ChildProcess(ServiceLaunch(service, binDir: Self.binDir, config: configPath),
                                 environment: ServiceEnvironment.configFileOnly.merging(environment) { $1 }, output: "\(root)/\(name).out")
        lock.withLock { extras.append(p) }
    }

    /// SIGTERM and wait for the exit (SIGKILL after `timeout` seconds). Returns the exit status.
    @discardableResult
    func stop(_ service: Service, timeout: Double = 15) async -> Int32? {
        await lock.withLock { processes[service] }?.stop(signal: SIGTERM, grace: timeout)
    }

    /// SIGKILL and wait for the exit.
    func kill(_ service: Service) async {
        await lock.withLock { processes[service] }?.stop(signal: SIGKILL, grace: 10)
    }

    /// SIGSTOP (`paused: true`) or SIGCONT: a service that holds its connections but answers nothing.
    ///
    /// A pause returns only once every thread of the process has stopped: `kill` marks one
    /// thread to take a stop signal and the others run on until it is scheduled and stops the
    /// group, which on a loaded machine takes milliseconds, in which a store can still take
    /// and commit a request the test sends "after" the pause.
    func pause(_ service: Service, _ paused: Bool = true) {
        guard let process = lock.withLock({ processes[service] }) else { return }
        process.send(paused ? SIGSTOP : SIGCONT)
        guard paused else { return }
        let until = Date().addingTimeInterval(10)
        while !Self.allThreadsStopped(process.pid), Date() < until { usleep(500) }
    }

    /// Whether every thread of `pid` is in state `T` (stopped) in `/proc/PID/task/*/stat`.
    static func allThreadsStopped(_ pid: pid_t) -> Bool {
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return true }
        return tasks.allSatisfy { tid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return true }
            // "PID (comm) STATE ...": the state is the first field after the command's ')'.
            let state = stat[stat.index(after: close)...].drop(while: { $0 == " " }).first
            return state == "T" || state == "t"
        }
    }

    /// Stops every service (gateway first) and removes the root (kept when
    /// `SKEIN_KEEP_TEST_ROOT` is set, for debugging).
    func shutdown() async {
        for p in lock.withLock({ extras }) { await p.stop(grace: 10) }
        for service in services.reversed() { await stop(service, timeout: 10) }
        session.invalidateAndCancel()
        if ProcessInfo.processInfo.environment["SKEIN_KEEP_TEST_ROOT"] == nil {
            try? FileManager.default.removeItem(atPath: root)
        }
    }

    /// The last lines of every service's output, for failure messages.
    func outputTail(lines: Int = 15) -> String {
        services.map { s in
            let text = (try? String(contentsOfFile: "\(root)/\(s.rawValue).out", encoding: .utf8)) ?? ""
            return "--- \(s.rawValue).out\n" + text.split(separator: "\n").suffix(lines).joined(separator: "\n")
        }.joined(separator: "\n")
    }

    // MARK: HTTP

    /// `POST /` with a JSON body as `user` (the admin by default; nil sends no credentials).
    func post(_ body: JSON, user: String? = "", password: String? = nil, timeout: Double = 30,
              headers extra: [String: String] = [:]) async throws -> (status: Int, json: JSON) {
        var headers = extra.merging(["Content-Type": "application/json"]) { $1 }
        if let user {
            let name = user.isEmpty ? adminUser : user
            let pass = password ?? (user.isEmpty ? adminPassword : "")
            headers["Authorization"] = Self.basic(name, pass)
        }
        let (status, data) = try await postRaw(body.serialized(), headers: headers, timeout: timeout)
        return (status, Self.parse(data))
    }

    /// `POST /` with raw bytes and exactly these headers.
    func postRaw(_ bytes: [UInt8], headers: [String: String], timeout: Double = 30) async throws -> (status: Int, body: Data) {
        var request = URLRequest(url: baseURL, timeoutInterval: timeout)
        request.httpMethod = "POST"
        request.httpBody = Data(bytes)
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        return try await send(request)
    }

    /// The admin's Basic header, for `postRaw`.
    var adminHeaders: [String: String] {
        ["Content-Type": "application/json", "Authorization": Self.basic(adminUser, adminPassword)]
    }

    /// `GET path`, with the admin's Basic credentials when `asAdmin`, or `user`'s.
    func get(_ path: String, timeout: Double = 30, asAdmin: Bool = false, user: (name: String, password: String)? = nil) async throws -> (status: Int, body: Data) {
        var request = URLRequest(url: baseURL.appendingPathComponent(path), timeoutInterval: timeout)
        if let credentials = asAdmin ? (adminUser, adminPassword) : user {
            request.setValue(Self.basic(credentials.0, credentials.1), forHTTPHeaderField: "Authorization")
        }
        return try await send(request)
    }

    private func send(_ request: URLRequest) async throws -> (status: Int, body: Data) {
        try await withCheckedThrowingContinuation { c in
            session.dataTask(with: request) { data, response, error in
                if let error { return c.resume(throwing: error) }
                guard let http = response as? HTTPURLResponse else { return c.resume(throwing: NodeError("no HTTP response")) }
                c.resume(returning: (http.statusCode, data ?? Data()))
            }.resume()
        }
    }

    static func basic(_ user: String, _ password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    /// The body as JSON; a body that is not JSON comes back as a string.
    static func parse(_ data: Data) -> JSON {
        (try? JSON.parse(Array(data))) ?? .string(String(decoding: data, as: UTF8.self))
    }
}

/// Runs `body` with a fresh node and always shuts it down.
func withNode<T>(config: [String: String] = [:], _ body: (TestNode) async throws -> T) async throws -> T {
    let node = try await TestNode.start(config: config)
    do {
        let result = try await body(node)
        await node.shutdown()
        return result
    } catch {
        Issue.record("node output:\n\(node.outputTail())")
        await node.shutdown()
        throw error
    }
}

/// A suite trait: one node for the whole suite (reachable as `TestNode.current` in its
/// tests), optionally seeded by `setup`, shut down after the suite's last test.
struct NodeTrait: SuiteTrait, TestScoping {
    let config: [String: String]
    let setup: @Sendable (TestNode) async throws -> Void
    var isRecursive: Bool { false }

    func scopeProvider(for test: Test, testCase: Test.Case?) -> NodeTrait? {
        test.isSuite ? self : nil
    }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let node = try await TestNode.start(config: config)
        do {
            try await setup(node)
            try await TestNode.$current.withValue(node) { try await function() }
        } catch {
            await node.shutdown()
            throw error
        }
        await node.shutdown()
    }
}

extension Trait where Self == NodeTrait {
    static func node(config: [String: String] = [:], setup: @escaping @Sendable (TestNode) async throws -> Void = { _ in }) -> NodeTrait {
        NodeTrait(config: config, setup: setup)
    }
}

/// Every process-level suite is nested in this one, so suites (and their nodes) run one
/// after another: starting several nodes at once on a small machine only slows all down.
@Suite(.serialized, .timeLimit(.minutes(5)))
enum ProcessTests {}
