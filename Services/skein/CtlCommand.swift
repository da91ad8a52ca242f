import ArgumentParser
import Foundation
import SkeinCore
import SkeinLauncher

/// `skein ctl OPERATION`: one request to a node's operations API (`POST /`) with the
/// cluster's admin credentials; prints the JSON answer and fails on an error status.
struct CtlCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ctl",
        abstract: "Send an operation to a node of the local cluster and print the answer.",
        discussion: #"Example: skein ctl insert --json '{"database":"data","table":"dog","records":[{"id":1}]}'"#)

    @Argument(help: "The operation, e.g. describe_all, insert, search_by_id, cluster_status.")
    var operation: String

    @Option(help: "The operation's other fields, as one JSON object.")
    var json = "{}"

    @Option(help: "The node to ask (default: node-a).", completion: .clusterNodes)
    var node = NodeNames.name(0)

    func run() async throws {
        guard case .object(var fields)? = try? JSON.parse(Array(json.utf8)) else {
            throw ValidationError("--json must be a JSON object, not \(json)")
        }
        fields["operation"] = .string(operation)
        let cluster = LauncherEnvironment().cluster()
        try cluster.check(node: node)
        let client = OperationsClient(baseURL: cluster.endpoints(node).operationsURL, credentials: try ClusterCredentials.load(cluster.layout))
        let (status, body) = try await client.post(Data(JSON.object(fields).serialized()))
        print(String(decoding: body, as: UTF8.self))
        guard status < 400 else { throw ExitCode(1) }
    }
}
