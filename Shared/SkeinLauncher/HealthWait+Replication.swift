import Foundation
import SkeinCore

extension HealthWait {
    /// Waits until every node's replicator holds a connected link to every other node, for
    /// every database it replicates (`ReplicationLinks`, from each node's `cluster_status`
    /// through its gateway, with `credentials`). What "up" means for a cluster, not only for
    /// its gateways. With `joining`, only the links from and to those nodes count (a node
    /// started again or added: its links to the running nodes, theirs to it). Fails fast when
    /// a replicator exited, and after `timeout` seconds names the links still down. A node
    /// that refuses `credentials` (the admin's password was changed since the cluster was
    /// made) ends the wait at once, unchecked and said so: asking again would only get the
    /// launcher's address throttled for failed logins, and the user's own requests with it.
    func waitConnected(_ nodes: [NodeEndpoints], joining: Set<String>? = nil, credentials: ClusterCredentials,
                       report: (String) -> Void) async throws {
        let links = nodes.flatMap { from in
            nodes.filter { to in to.name != from.name && joining.map { $0.contains(from.name) || $0.contains(to.name) } ?? true }
                .map { ReplicationLink(from: from.name, to: $0.name) }
        }
        guard !links.isEmpty else { return }
        if let joining {
            let others = nodes.map(\.name).filter { !joining.contains($0) }
            report("waiting for replication links between \(joining.sorted().joined(separator: " ")) and: \(others.joined(separator: " "))")
        } else {
            report("waiting for replication links between: \(nodes.map(\.name).joined(separator: " "))")
        }
        var down = links, silent: [String] = [], refused: (node: String, status: Int)?
        let ended = try await Poll(timeout: timeout, every: .milliseconds(300)).until { () -> Bool? in
            for node in nodes where supervisor.runningPid(node.name, .replicator) == nil {
                throw failure("\(node.name) replicator exited while waiting for replication links; its log: \(layout.logFile(node.name, .replicator))",
                              nodes: nodes)
            }
            down = []
            silent = []
            for node in nodes where links.contains(where: { $0.from == node.name }) {
                let client = OperationsClient(baseURL: node.operationsURL, credentials: credentials)
                switch await ReplicationLinks.ask(client) {
                case .peers(let peers):
                    down += links.filter { $0.from == node.name && !peers.contains($0.to) }
                case .refused(let status):
                    refused = (node.name, status)
                    return true
                case .silent:
                    silent.append(node.name)
                    down += links.filter { $0.from == node.name }
                }
            }
            return down.isEmpty ? true : nil
        }
        if let refused {
            return report(unchecked(refused: refused.node, status: refused.status, links: links))
        }
        guard ended == nil else {
            return report(joining == nil ? "replication connected: every node to every other"
                                         : "replication connected: \(links.map(\.text).joined(separator: ", "))")
        }
        throw LauncherError(replicationTimeout(down: down, silent: silent))
    }

    /// What a replication wait says when a node refused the cluster's credentials: the
    /// links were not checked, why, and where to look instead.
    private func unchecked(refused node: String, status: Int, links: [ReplicationLink]) -> String {
        let ends = Set(links.flatMap { [$0.from, $0.to] }).sorted()
        return """
            replication links not checked: \(node) answered \(status) to cluster_status with the credentials in \(layout.credentialsFile) \
            (the admin's password was changed since the cluster was made?); the services run. Check the links with \
            cluster_status as a user that can log in, or in the replicator logs: \(ends.map { layout.logFile($0, .replicator) }.joined(separator: ", "))
            """
    }

    /// What a replication wait that ran out says: the links still down, what was awaited,
    /// and the logs to read (the replicators at both ends; the gateway of a node that did
    /// not answer `cluster_status`, since the links are read through it).
    private func replicationTimeout(down: [ReplicationLink], silent: [String]) -> String {
        let ends = Set(down.flatMap { [$0.from, $0.to] }).sorted()
        var lines = [
            "replication links not connected within \(Int(timeout)) s: \(down.map(\.text).joined(separator: ", "))",
            "waited for: each link's connection, every database connected, in the cluster_status of the node it leaves from (asked through that node's gateway)",
        ]
        for node in silent {
            lines.append("\(node)'s gateway did not answer cluster_status: check \(layout.logFile(node, .gateway)) ('skein cluster logs \(node) gateway')")
        }
        lines.append("check: the replicator log at each end, \(ends.map { layout.logFile($0, .replicator) }.joined(separator: ", ")) "
                     + "('skein cluster logs NODE replicator'), and 'skein ctl cluster_status --node NODE'")
        lines.append(Self.leftRunning)
        return lines.joined(separator: "\n")
    }
}

/// A replicator's connection from one node to a peer, as a replication wait names it.
struct ReplicationLink: Equatable {
    let from: String
    let to: String
    var text: String { "\(from) → \(to)" }
}
