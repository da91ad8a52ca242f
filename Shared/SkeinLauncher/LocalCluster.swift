import Foundation
import SkeinCore
#if canImport(Glibc)
import Glibc
#endif

/// A cluster of nodes on one machine, each on its own loopback address, run as plain
/// processes from a cluster directory (`ClusterLayout`): what `skein cluster` does, for the
/// command line and for tests alike. Every step reports a line through `report`.
public struct LocalCluster: Sendable {
    public let layout: ClusterLayout
    public let supervisor: ServiceSupervisor
    /// The plan saved by the cluster's first `up`, else the one given.
    public let plan: ClusterAddressPlan
    public let report: @Sendable (String) -> Void
    public var healthTimeout: Double = 60
    /// How long `up`, `start` and `addNode` wait for the replication links once the gateways answer.
    public var replicationTimeout: Double = 60
    /// Seconds a SIGTERMed service gets before SIGKILL.
    public var stopGrace: Double = 10
    public static let defaultNodeCount = 3

    public init(layout: ClusterLayout, binDir: String, plan: ClusterAddressPlan = .standard,
                report: @escaping @Sendable (String) -> Void = { print($0) }) {
        self.layout = layout
        supervisor = ServiceSupervisor(layout: layout, binDir: binDir)
        self.plan = ClusterAddressPlan.load(from: layout.addressPlanFile) ?? plan
        self.report = report
    }

    /// The number of nodes the last `up` or `add-node` set (0: no cluster here).
    public var nodeCount: Int {
        (try? String(contentsOfFile: layout.nodeCountFile, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
    }

    public var nodes: [String] { NodeNames.first(nodeCount) }

    public func endpoints(_ node: String) -> NodeEndpoints { NodeEndpoints.read(node, layout: layout, plan: plan) }

    /// Throws unless `node` is one of this cluster's.
    public func check(node: String) throws {
        guard nodeCount > 0 else { throw LauncherError("no cluster in \(layout.root) (start one with: skein cluster up)") }
        guard nodes.contains(node) else { throw LauncherError("unknown node '\(node)' (nodes: \(nodes.joined(separator: " ")))") }
    }

    /// Writes configs and certificates for `count` nodes (default: as last time, or 3),
    /// stops nodes beyond it (their directories stay), starts every node and waits for
    /// every gateway's `/health`, then for every node's replication links to every other.
    public func up(nodes requested: Int?) async throws {
        let count = requested ?? (nodeCount > 0 ? nodeCount : Self.defaultNodeCount)
        guard (1...NodeNames.maximum).contains(count) else { throw LauncherError("--nodes must be between 1 and \(NodeNames.maximum), not \(count)") }
        try plan.check(nodes: count)
        try supervisor.checkBinaries()
        let credentials = try ClusterCredentials.loadOrCreate(layout)
        if !FileManager.default.fileExists(atPath: layout.addressPlanFile) { try plan.save(to: layout.addressPlanFile) }
        let dropped = Array(NodeNames.first(nodeCount).dropFirst(count))
        if !dropped.isEmpty {
            report("stopping \(dropped.joined(separator: " ")) (not in a \(count)-node cluster; data kept)")
            stopServices(of: dropped, only: nil, signal: SIGTERM, grace: stopGrace)
        }
        try "\(count)\n".write(toFile: layout.nodeCountFile, atomically: true, encoding: .utf8)
        try configure(nodes, credentials: credentials)
        try checkPortsFree(of: nodes, only: nil)
        for node in nodes { try startServices(of: node, only: nil) }
        try writeManifest()
        try await HealthWait(layout: layout, supervisor: supervisor, timeout: healthTimeout).wait(for: nodes.map(endpoints), report: report)
        try await waitReplication(among: nodes)
    }

    /// Waits, at most `replicationTimeout` seconds, until the replication links among
    /// `members` are connected: all of them, or with `joining` only those from and to
    /// these nodes. What `up`, `start` and `addNode` wait for once the gateways answer.
    func waitReplication(among members: [String], joining: Set<String>? = nil) async throws {
        try await HealthWait(layout: layout, supervisor: supervisor, timeout: replicationTimeout)
            .waitConnected(members.map(endpoints), joining: joining, credentials: try ClusterCredentials.load(layout), report: report)
    }

    /// The nodes whose gateway and replicator both run: those whose links can connect and
    /// whose `cluster_status` can be asked.
    var replicatingNodes: [String] {
        nodes.filter { supervisor.runningPid($0, .gateway) != nil && supervisor.runningPid($0, .replicator) != nil }
    }

    /// Every node's config (written when missing, launcher sections rewritten) and certificate.
    func configure(_ names: [String], credentials: ClusterCredentials) throws {
        let files = NodeConfigFiles(layout: layout, plan: plan)
        for node in names {
            if try files.writeInitial(node, credentials: credentials) { report("wrote \(layout.configFile(node))") }
        }
        let cluster = nodes.map(endpoints)
        let certificates = ClusterCertificates(layout: layout)
        for line in try certificates.ensure(nodes: cluster) { report(line) }
        for node in cluster { try files.writeLauncherSections(node, cluster: cluster, certificates: certificates) }
    }

    /// Stops every service of every node (SIGTERM, SIGKILL after `stopGrace`).
    public func down() throws {
        guard nodeCount > 0 else { return report("no cluster in \(layout.root)") }
        stopServices(of: nodes, only: nil, signal: SIGTERM, grace: stopGrace)
        try writeManifest()
    }

    /// One line per node and service: running with its pid, or stopped. Rewrites
    /// `cluster.json`, so it stays true after a crash too.
    public func status() throws -> [String] {
        guard nodeCount > 0 else { return ["no cluster in \(layout.root) (start one with: skein cluster up)"] }
        var lines: [String] = []
        for node in nodes {
            let endpoints = endpoints(node)
            for service in NodeService.allCases {
                let state = supervisor.runningPid(node, service).map { "\(node) \(service.rawValue) running pid \($0)" }
                    ?? "\(node) \(service.rawValue) stopped"
                lines.append(state + Self.where(service, endpoints))
            }
        }
        try writeManifest()
        return lines
    }

    /// Where a service answers, for `status`: the gateway's operations API, the replicator's
    /// peer URL; nothing for the services only the node's own processes reach.
    static func `where`(_ service: NodeService, _ endpoints: NodeEndpoints) -> String {
        switch service {
        case .gateway: return ", operations API " + ([endpoints.operationsURL] + (endpoints.secureURL.map { [$0] } ?? [])).joined(separator: " and ")
        case .replicator: return ", peers at " + endpoints.replicationURL
        default: return ""
        }
    }

    public func writeManifest() throws {
        let credentials = try ClusterCredentials.load(layout)
        let entries = nodes.map { node in
            ClusterManifest.Node(endpoints: endpoints(node), config: layout.configFile(node), dataDir: layout.dataDir(node),
                                 logDir: layout.logDir(node),
                                 pids: Dictionary(uniqueKeysWithValues: NodeService.allCases.compactMap { s in supervisor.runningPid(node, s).map { (s, $0) } }))
        }
        try ClusterManifest(credentials: credentials, nodes: entries).write(to: layout.manifestFile)
    }

    func startServices(of node: String, only: NodeService?) throws {
        for service in NodeService.allCases where only == nil || only == service {
            let (pid, started) = try supervisor.start(node, service)
            report(started ? "started \(node) \(service.rawValue) (pid \(pid))" : "\(node) \(service.rawValue) already running (pid \(pid))")
        }
    }

    func stopServices(of names: [String], only: NodeService?, signal: Int32, grace: Double) {
        let targets = names.flatMap { node in NodeService.allCases.filter { only == nil || only == $0 }.map { (node: node, service: $0) } }
        for line in supervisor.stop(targets, signal: signal, grace: grace) { report(line) }
    }
}

extension LocalCluster {
    /// Throws, before anything starts, when a port that a stopped gateway or replicator of
    /// `names` would listen on is taken by another process (most often a node of another
    /// local cluster on the same addresses). Without it the service exited at its bind, and
    /// `/health` could answer from the other cluster's gateway, so `up` reported a cluster
    /// whose nodes were not its own.
    func checkPortsFree(of names: [String], only: NodeService?) throws {
        var busy: [String] = []
        for node in names {
            guard let config = try? NodeConfig.load(path: layout.configFile(node), environment: [:]) else { continue }
            var wanted: [(service: NodeService, what: String, host: String, port: Int)] = []
            if only == nil || only == .gateway, supervisor.runningPid(node, .gateway) == nil {
                wanted.append((.gateway, "operations API", config.httpHost, config.httpPort))
                if let port = config.secureHTTPPort { wanted.append((.gateway, "operations API over HTTPS", config.httpHost, port)) }
                wanted.append((.gateway, "REST", config.restHost, config.restPort))
                if let port = config.secureRESTPort { wanted.append((.gateway, "REST over HTTPS", config.restHost, port)) }
            }
            if only == nil || only == .replicator, supervisor.runningPid(node, .replicator) == nil {
                wanted.append((.replicator, "replication", config.replicationHost, config.replicationPort))
            }
            for w in wanted where !PortProbe.canBind(host: w.host, port: w.port) {
                busy.append("\(node) \(w.service.rawValue): \(w.host):\(w.port) (\(w.what))")
            }
        }
        guard !busy.isEmpty else { return }
        throw LauncherError("""
            ports in use by another process (a node of another local cluster?), nothing started:
              \(busy.joined(separator: "\n  "))
            stop what holds them ('skein cluster down' with that cluster's directory) or give this cluster other addresses or ports
            """)
    }
}
