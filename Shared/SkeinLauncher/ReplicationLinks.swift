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

    /// The peers the node behind `client` shows connected; nil when it does not answer
    /// `cluster_status` (its gateway is down or busy: say so rather than "no links").
    public static func connectedPeers(of client: OperationsClient, requiring databases: Set<String> = []) async -> Set<String>? {
        let request: JSON = ["operation": "cluster_status"]
        guard let (status, body) = try? await client.post(Data(request.serialized()), timeout: 5), status == 200,
              let answer = try? JSON.parse(Array(body)) else { return nil }
        return connectedPeers(in: answer, requiring: databases)
    }
}
