import Foundation
import SkeinCore

/// `cluster.json`: the admin credentials and, per node, its URLs, files and running
/// services' pids (null when stopped), the shape docs/INTERFACES.md §4 pins and the shared
/// workload and bench/vs-galera read. Laid out one node per few lines, as it always was.
public struct ClusterManifest: Sendable {
    public struct Node: Sendable {
        public let endpoints: NodeEndpoints
        public let config: String
        public let dataDir: String
        public let logDir: String
        public let pids: [NodeService: Int32]
    }

    public let credentials: ClusterCredentials
    public let nodes: [Node]

    public var text: String {
        func quoted(_ s: String) -> String { JSON.string(s).text }
        func pid(_ service: NodeService, of node: Node) -> String { node.pids[service].map { String($0) } ?? "null" }
        let entries = nodes.map { node in
            """
              {"name": \(quoted(node.endpoints.name)), "host": \(quoted(node.endpoints.host)),
               "operations_url": \(quoted(node.endpoints.operationsURL)),
               "replication_url": \(quoted(node.endpoints.replicationURL)),
               "config": \(quoted(node.config)),
               "data_dir": \(quoted(node.dataDir)), "log_dir": \(quoted(node.logDir)),
               "services": {"store": \(pid(.store, of: node)), "auditd": \(pid(.auditd, of: node)), "gateway": \(pid(.gateway, of: node)), "replicator": \(pid(.replicator, of: node))}}
            """
        }
        return """
            {"username": \(quoted(credentials.username)), "password": \(quoted(credentials.password)),
             "nodes": [
            \(entries.joined(separator: ",\n"))
             ]}

            """
    }

    /// The node names a `cluster.json` at `path` lists, in its order; none when it is missing
    /// or unreadable (what shell completion offers for a NODE argument).
    public static func nodeNames(at path: String) -> [String] {
        guard let data = FileManager.default.contents(atPath: path), let manifest = try? JSON.parse(Array(data)) else { return [] }
        return (manifest["nodes"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
    }

    /// Written to a temporary file and renamed (0600: it holds the password).
    public func write(to path: String) throws {
        try PrivateFile.write(text, to: path)
    }
}
