import Foundation
import SkeinCore
#if canImport(Glibc)
import Glibc
#endif

/// Commands on one node of a running cluster: fault tests stop, kill and start services;
/// `addNode` grows the cluster while it runs.
extension LocalCluster {
    /// SIGTERM a node or one of its services (SIGKILL after `stopGrace`).
    public func stop(_ node: String, _ service: NodeService?) throws {
        try check(node: node)
        stopServices(of: [node], only: service, signal: SIGTERM, grace: stopGrace)
        try writeManifest()
    }

    /// SIGKILL a node or one of its services; nothing restarts it until `start`.
    public func kill(_ node: String, _ service: NodeService?) throws {
        try check(node: node)
        stopServices(of: [node], only: service, signal: SIGKILL, grace: 2)
        try writeManifest()
    }

    /// Starts a stopped node or service on the same data; waits for `/health` when this
    /// started the gateway, then, when it started the replicator, for the node's links to
    /// the running nodes and theirs to it (`replicationTimeout`).
    public func start(_ node: String, _ service: NodeService?) async throws {
        try check(node: node)
        try supervisor.checkBinaries()
        let gatewayWasRunning = supervisor.runningPid(node, .gateway) != nil
        let replicatorWasRunning = supervisor.runningPid(node, .replicator) != nil
        try checkPortsFree(of: [node], only: service)
        try startServices(of: node, only: service)
        try writeManifest()
        if !gatewayWasRunning && (service == nil || service == .gateway) {
            try await HealthWait(layout: layout, supervisor: supervisor, timeout: healthTimeout).wait(for: [endpoints(node)], report: report)
        }
        if !replicatorWasRunning && (service == nil || service == .replicator) {
            guard replicatingNodes.contains(node) else {
                return report("\(node) gateway not running: its replication links are not checked (start it: skein cluster start \(node) gateway)")
            }
            try await waitReplication(among: replicatingNodes, joining: [node])
        }
    }

    /// One more node: its config and certificate, routes to it in every config, started and
    /// healthy, then announced to the running cluster with `add_node` on the first node
    /// that answers, so every peer connects to it without a restart; returns once its links
    /// to the running nodes and theirs to it are connected (`replicationTimeout`). Returns its name.
    @discardableResult
    public func addNode() async throws -> String {
        let count = nodeCount
        guard count > 0 else { throw LauncherError("no cluster in \(layout.root) (start one with: skein cluster up)") }
        guard count < NodeNames.maximum else { throw LauncherError("a local cluster has at most \(NodeNames.maximum) nodes") }
        try plan.check(nodes: count + 1)
        try supervisor.checkBinaries()
        let node = NodeNames.name(count)
        try "\(count + 1)\n".write(toFile: layout.nodeCountFile, atomically: true, encoding: .utf8)
        try configure(nodes, credentials: try ClusterCredentials.load(layout))
        try checkPortsFree(of: [node], only: nil)
        try startServices(of: node, only: nil)
        try writeManifest()
        let added = endpoints(node)
        try await HealthWait(layout: layout, supervisor: supervisor, timeout: healthTimeout).wait(for: [added], report: report)
        let request: JSON = ["operation": "add_node", "hostname": .string(node), "url": .string(added.replicationURL)]
        for member in nodes.dropLast() where supervisor.runningPid(member, .gateway) != nil {
            let client = OperationsClient(baseURL: endpoints(member).operationsURL, credentials: try ClusterCredentials.load(layout))
            let (status, body) = try await client.post(Data(request.serialized()))
            guard status == 200 else {
                throw LauncherError("add_node on \(member) answered \(status): \(String(decoding: body, as: UTF8.self))")
            }
            report("announced \(node) (\(added.replicationURL)) to the cluster through \(member)")
            try await waitReplication(among: replicatingNodes, joining: [node])
            return node
        }
        report("no running gateway to announce \(node) to: the other nodes learn of it at their next start")
        return node
    }
}
