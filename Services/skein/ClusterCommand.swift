import ArgumentParser
import SkeinLauncher

/// `skein cluster ...`: the local cluster's life, one subcommand per verb.
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Start, stop and inspect a local cluster (node-a on 127.0.0.1, node-b on 127.0.0.2, ...).",
        subcommands: [ClusterUp.self, ClusterDown.self, ClusterStatus.self, ClusterStart.self, ClusterStop.self,
                      ClusterKill.self, ClusterAddNode.self, ClusterLogs.self])
}

/// NODE and an optional SERVICE, as `start`, `stop` and `kill` take them.
struct NodeTarget: ParsableArguments {
    @Argument(help: "node-a, node-b, ...", completion: .clusterNodes)
    var node: String

    @Argument(help: "One of: store, auditd, gateway, replicator (default: all four).")
    var service: NodeService?
}

extension NodeService: ExpressibleByArgument {}

extension CompletionKind {
    /// The local cluster's node names (its `cluster.json`), for every NODE argument and
    /// `--node` option: shell completion runs `skein` to ask.
    static var clusterNodes: CompletionKind {
        .custom { _, _, _ in ClusterManifest.nodeNames(at: LauncherEnvironment().layout.manifestFile) }
    }
}

extension LauncherEnvironment {
    /// The cluster in the cluster directory, run from the binaries its `up` used.
    func cluster() -> LocalCluster {
        LocalCluster(layout: layout, binDir: binDir(for: layout))
    }
}
