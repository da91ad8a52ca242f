import SkeinCore
import Testing

extension LauncherCLI {
    /// Each `(node, peer)`: `node`'s `cluster_status` (through `skein ctl`) shows its link to
    /// `peer` connected for every database.
    func expectConnected(_ links: [(String, String)], _ when: String) throws {
        for (node, peer) in links {
            let status = try JSON.parse(Array(try ok("ctl", "cluster_status", "--node", node).utf8))
            let link = status["connections"]?.arrayValue?.first { $0["name"]?.stringValue == peer }
            let sockets = link?["database_sockets"]?.arrayValue ?? []
            #expect(!sockets.isEmpty && sockets.allSatisfy { $0["connected"] == true }, "\(node) → \(peer) \(when): \(status)")
        }
    }
}
