import Foundation
import SkeinCore

extension HealthWait {
    /// Waits until every node's replicator holds a connected link to every other node, for
    /// every database it replicates: each node's `cluster_status` (through its gateway,
    /// with `credentials`) lists a connection named after each peer whose database sockets
    /// are all connected. What "up" means for a cluster, not only for its gateways. With
    /// `joining`, only the links from and to those nodes count (a node started again or
    /// added: its links to the running nodes, theirs to it). Fails fast when a replicator
    /// exited, and after `timeout` seconds names the links still down.
    func waitConnected(_ nodes: [NodeEndpoints], joining: Set<String>? = nil, credentials: ClusterCredentials,
                       report: (String) -> Void) async throws {
        let links = nodes.flatMap { from in
            nodes.filter { to in to.name != from.name && joining.map { $0.contains(from.name) || $0.contains(to.name) } ?? true }
                .map { (from: from.name, to: $0.name) }
        }
        guard !links.isEmpty else { return }
        if let joining {
            let others = nodes.map(\.name).filter { !joining.contains($0) }
            report("waiting for replication links between \(joining.sorted().joined(separator: " ")) and: \(others.joined(separator: " "))")
        } else {
            report("waiting for replication links between: \(nodes.map(\.name).joined(separator: " "))")
        }
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int(timeout * 1000)))
        while true {
            var down: [String] = []
            for node in nodes {
                if supervisor.runningPid(node.name, .replicator) == nil {
                    throw failure("\(node.name) replicator exited", nodes: nodes)
                }
            }
            for node in nodes where links.contains(where: { $0.from == node.name }) {
                let connected = await connectedPeers(of: node, credentials: credentials)
                down += links.filter { $0.from == node.name && !connected.contains($0.to) }.map { "\($0.from) → \($0.to)" }
            }
            if down.isEmpty {
                return report(joining == nil ? "replication connected: every node to every other"
                                             : "replication connected: \(links.map { "\($0.from) → \($0.to)" }.joined(separator: ", "))")
            }
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
