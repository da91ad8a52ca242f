import ArgumentParser
import SkeinLauncher

struct ClusterDown: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "down", abstract: "Stop every service of every node (SIGTERM, SIGKILL after 10 s).")

    func run() async throws { try LauncherEnvironment().cluster().down() }
}

struct ClusterStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "One line per node and service: its pid or stopped, and where the gateway and the replicator answer.")

    func run() async throws { try LauncherEnvironment().cluster().status().forEach { print($0) } }
}

struct ClusterStart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Start a stopped node or service again, on the same data; wait for /health and for its replication links to the running nodes.")

    @OptionGroup var target: NodeTarget
    @OptionGroup var replicationWait: ReplicationWait

    func run() async throws { try await LauncherEnvironment().cluster(replicationWait).start(target.node, target.service) }
}

struct ClusterStop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "SIGTERM a node or one of its services (SIGKILL after 10 s).")

    @OptionGroup var target: NodeTarget

    func run() async throws { try LauncherEnvironment().cluster().stop(target.node, target.service) }
}

struct ClusterKill: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kill", abstract: "SIGKILL a node or one of its services, for fault tests; it stays down until start.")

    @OptionGroup var target: NodeTarget

    func run() async throws { try LauncherEnvironment().cluster().kill(target.node, target.service) }
}

struct ClusterAddNode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add-node",
        abstract: "Start one more node, announce it to the running cluster (add_node), wait for its replication links to the running nodes.")

    @OptionGroup var replicationWait: ReplicationWait

    func run() async throws { try await LauncherEnvironment().cluster(replicationWait).addNode() }
}
