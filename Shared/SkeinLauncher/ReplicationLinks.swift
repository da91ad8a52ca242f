import Foundation
import SkeinCore

/// When a replication link counts as up, read from a node's `cluster_status`: a replicator
/// runs (`is_enabled`) and holds a connection named after the peer whose database sockets
/// are all connected (and, where the caller names databases, include those). One
/// definition for the launcher's waits and the tests'.
public enum ReplicationLinks {
    /// The peers `status` (a `cluster_status` answer) shows connected.
    public static func connectedPeers(in status: JSON, requiring databases: Set<String> = []) -> Set<String> {
        guard status["is_enabled"] == true else { return [] }
        return Set((status["connections"]?.arrayValue ?? []).compactMap { connection -> String? in
            let sockets = connection["database_sockets"]?.arrayValue ?? []
            let names = Set(sockets.compactMap { $0["database"]?.stringValue })
            guard !sockets.isEmpty, databases.isSubset(of: names), sockets.allSatisfy({ $0["connected"] == true }) else { return nil }
            return connection["name"]?.stringValue
        })
    }

    /// What asking a node for its links gave.
    public enum Answer: Sendable, Equatable {
        case peers(Set<String>)
        /// The gateway refused the credentials (401, 403): no link can be read with them.
        case refused(status: Int)
        /// No `cluster_status` came back (the gateway is down, busy or failing).
        case silent
    }

    /// Asks the node behind `client` for `cluster_status`: the peers it shows connected.
    public static func ask(_ client: OperationsClient, requiring databases: Set<String> = []) async -> Answer {
        let request: JSON = ["operation": "cluster_status"]
        guard let (status, body) = try? await client.post(Data(request.serialized()), timeout: 5) else { return .silent }
        if status == 401 || status == 403 { return .refused(status: status) }
        guard status == 200, let answer = try? JSON.parse(Array(body)) else { return .silent }
        return .peers(connectedPeers(in: answer, requiring: databases))
    }

    /// The peers the node behind `client` shows connected; nil when it gave no such answer.
    public static func connectedPeers(of client: OperationsClient, requiring databases: Set<String> = []) async -> Set<String>? {
        guard case .peers(let peers) = await ask(client, requiring: databases) else { return nil }
        return peers
    }
}
