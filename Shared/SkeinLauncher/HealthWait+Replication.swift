import Foundation
import SkeinCore

extension HealthWait {
    /// Waits until every node's replicator holds a connected link to every other node, for
    /// every database it replicates: each node's `cluster_status` (through its gateway,
    /// with `credentials`) lists a connection named after each peer whose database sockets
    /// are all connected. What "up" means for a cluster, not only for its gateways. Fails
    /// fast when a replicator exited, and after `timeout` seconds names the links still down.
    func waitConnected(_ nodes: [NodeEndpoints], credentials: ClusterCredentials, report: (String) -> Void) async throws {
        guard nodes.count > 1 else { return }
        report("waiting for replication links between: \(nodes.map(\.name).joined(separator: " "))")
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int(timeout * 1000)))
        while true {
            var down: [String] = []
            for node in nodes {
                if supervisor.runningPid(node.name, .replicator) == nil {
                    throw failure("\(node.name) replicator exited", nodes: nodes)
                }
                let connected = await connectedPeers(of: node, credentials: credentials)
                down += nodes.filter { $0.name != node.name && !connected.contains($0.name) }.map { "\(node.name) → \($0.name)" }
            }
            if down.isEmpty { return report("replication connected: every node to every other") }
            if ContinuousClock.now >= deadline {
                throw LauncherError("""
                    replication links not connected within \(Int(timeout)) s: \(down.joined(separator: ", ")) \
                    (every gateway answers /health; see 'skein ctl cluster_status --node NODE' and \
                    'skein cluster logs NODE replicator'; processes left as they are, 'skein cluster down' stops them)
                    """)
            }
            try await Task.sleep(for: .milliseconds(300))
        }
    }

    /// The peers `node`'s `cluster_status` shows connected for every database (none when it
    /// does not answer).
    private func connectedPeers(of node: NodeEndpoints, credentials: ClusterCredentials) async -> Set<String> {
        let client = OperationsClient(baseURL: node.operationsURL, credentials: credentials)
        let request: JSON = ["operation": "cluster_status"]
        guard let (status, body) = try? await client.post(Data(request.serialized()), timeout: 5), status == 200,
              let answer = try? JSON.parse(Array(body)) else { return [] }
        let connections = answer["connections"]?.arrayValue ?? []
        return Set(connections.compactMap { connection -> String? in
            let sockets = connection["database_sockets"]?.arrayValue ?? []
            guard !sockets.isEmpty, sockets.allSatisfy({ $0["connected"] == true }) else { return nil }
            return connection["name"]?.stringValue
        })
    }
}
