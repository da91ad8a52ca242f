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

/// `--replication-timeout`, as `up`, `start` and `add-node` take it.
struct ReplicationWait: ParsableArguments {
    @Option(help: "Seconds to wait, once the gateways answer /health, until the replication links are connected (up: every node's to every other; start, add-node: the node's to the running nodes and theirs to it).")
    var replicationTimeout: Double = 60

    func apply(to cluster: inout LocalCluster) { cluster.replicationTimeout = replicationTimeout }
}

extension CompletionKind {
    /// The local cluster's node names (its `cluster.json`), for every NODE argument and
    /// `--node` option: shell completion runs `skein` to ask.
    static var clusterNodes: CompletionKind {
        .custom { _, _, _ in ClusterManifest.nodeNames(at: LauncherEnvironment().layout.manifestFile) }
    }
}

extension LauncherEnvironment {
    /// The cluster in the cluster directory, run from the binaries its `up` used.
    func cluster(_ wait: ReplicationWait? = nil) -> LocalCluster {
        var cluster = LocalCluster(layout: layout, binDir: binDir(for: layout))
        wait?.apply(to: &cluster)
        return cluster
    }
}
