import ArgumentParser
import Foundation
import SkeinLauncher

struct ClusterUp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Build, write configs and certificates, start N nodes, wait for /health and connected replication, print URLs and credentials.")

    @Option(help: "Number of nodes (default 3, or as last time).")
    var nodes: Int?

    @Flag(help: "Build and run the release binaries.")
    var release = false

    @Option(help: "Address of node-a for a new cluster; node-b gets the next one, and so on.")
    var firstAddress = ClusterAddressPlan.standard.firstAddress

    @Option(help: "Operations API port of every node of a new cluster (default SKEIN_BASE_PORT or 9925).")
    var port: Int?

    @Option(help: "Replication port of every node of a new cluster.")
    var replicationPort = ClusterAddressPlan.standard.replicationPort

    @Option(help: "REST port of every node of a new cluster (default: Harper's 9926).")
    var restPort: Int?

    @OptionGroup var replicationWait: ReplicationWait

    func run() async throws {
        let environment = LauncherEnvironment()
        let binDir = try environment.buildServices(release: release)
        let layout = environment.layout
        let plan = ClusterAddressPlan(firstAddress: firstAddress, apiPort: port ?? environment.basePort,
                                      replicationPort: replicationPort, restPort: restPort)
        var cluster = LocalCluster(layout: layout, binDir: binDir, plan: plan)
        replicationWait.apply(to: &cluster)
        try FileManager.default.createDirectory(atPath: layout.root, withIntermediateDirectories: true)
        try "\(binDir)\n".write(toFile: layout.binDirFile, atomically: true, encoding: .utf8)
        try await cluster.up(nodes: nodes)
        try await UpSummary(cluster: cluster).lines().forEach { print($0) }
    }
}
