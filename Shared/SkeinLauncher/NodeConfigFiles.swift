import Foundation
import SkeinCore

/// The `config.yaml` of each node of a local cluster: written once (then the user's to
/// edit), except the `replication:` and `tls:` sections, which the launcher owns and
/// rewrites on every `up` (routes follow the node count). Each file is checked with the
/// services' own loader before it is written.
struct NodeConfigFiles {
    let layout: ClusterLayout
    let plan: ClusterAddressPlan
    static let launcherSections: Set<String> = ["replication", "tls"]
    static let header = """
        # Skein node configuration, written once by the launcher (skein cluster up); edit freely,
        # it is kept, except the replication: and tls: sections, which every "up" rewrites
        # (routes follow the node count). Keys: docs/INTERFACES.md §2.

        """

    /// Writes NODE's config when it has none; returns whether it did.
    func writeInitial(_ node: String, credentials: ClusterCredentials) throws -> Bool {
        let path = layout.configFile(node)
        guard !FileManager.default.fileExists(atPath: path) else { return false }
        var builder = NodeConfigBuilder(rootPath: layout.nodeDir(node))
        builder.operationsAPI(host: plan.address(ofNode: NodeNames.index(of: node) ?? 0), port: plan.apiPort)
        if let restPort = plan.restPort { builder.rest(port: restPort) }
        builder.logging(level: "info", auditRetention: "3d")
        builder.admin(username: credentials.username, password: credentials.password)
        do { _ = try builder.validated() } catch { throw LauncherError("\(node): \(error)") }
        try FileManager.default.createDirectory(atPath: layout.nodeDir(node), withIntermediateDirectories: true)
        try PrivateFile.write(Self.header + builder.yaml(), to: path)
        return true
    }

    /// Rewrites NODE's `replication:` and `tls:` sections: it listens on its own address,
    /// routes to every other node of `cluster`, certificates from `certificates`.
    func writeLauncherSections(_ node: NodeEndpoints, cluster: [NodeEndpoints], certificates: ClusterCertificates) throws {
        var builder = NodeConfigBuilder(rootPath: layout.nodeDir(node.name))
        let url = "wss://\(node.host):\(plan.replicationPort)"
        let routes = cluster.filter { $0.name != node.name }.map {
            NodeConfigBuilder.Route(hostname: $0.name, host: $0.host, port: plan.replicationPort)
        }
        builder.replication(hostname: node.name, host: node.host, port: plan.replicationPort, url: url, routes: routes)
        builder.tls(certificate: certificates.certificateFile(node.name), privateKey: certificates.keyFile(node.name),
                    authority: certificates.authorityFile)
        let path = layout.configFile(node.name)
        let text = YAMLDocument.replacingSections(Self.launcherSections, in: try String(contentsOfFile: path, encoding: .utf8),
                                                  with: builder.yaml(sections: Self.launcherSections))
        do { _ = try NodeConfig.parse(yaml: text) } catch { throw LauncherError("\(path): \(error)") }
        try PrivateFile.write(text, to: path)
    }
}
