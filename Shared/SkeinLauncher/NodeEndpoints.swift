import Foundation
import SkeinCore

/// Where a node answers, read from its `config.yaml` with the services' own loader, so hand
/// edits of the address or ports are honoured; a config that cannot be read gives the
/// defaults a new config would have.
public struct NodeEndpoints: Sendable {
    public let name: String
    public let host: String
    public let port: Int
    public let replicationURL: String
    /// `https://host:port` when `operationsApi.network.securePort` is set.
    public let secureURL: String?

    public var operationsURL: String { "http://\(host):\(port)" }

    public static func read(_ name: String, layout: ClusterLayout, plan: ClusterAddressPlan) -> NodeEndpoints {
        let index = NodeNames.index(of: name) ?? 0
        guard let config = try? NodeConfig.load(path: layout.configFile(name), environment: [:]) else {
            let host = plan.address(ofNode: index)
            return NodeEndpoints(name: name, host: host, port: plan.apiPort,
                                 replicationURL: "wss://\(host):\(plan.replicationPort)", secureURL: nil)
        }
        return NodeEndpoints(name: name, host: config.httpHost, port: config.httpPort,
                             replicationURL: config.replicationURL ?? "wss://\(config.replicationHost):\(config.replicationPort)",
                             secureURL: config.secureHTTPPort.map { "https://\(config.httpHost):\($0)" })
    }
}
