import Foundation

/// Waits until every given node's gateway answers `/health` (and, with
/// `waitConnected`, until their replication links are up), failing fast when a service it
/// waits on has exited (it can then never answer). Every failure says what was awaited and
/// which files to read, with the end of each node's service output.
struct HealthWait {
    let layout: ClusterLayout
    let supervisor: ServiceSupervisor
    let timeout: Double

    func wait(for nodes: [NodeEndpoints], report: (String) -> Void) async throws {
        report("waiting for /health on: \(nodes.map(\.name).joined(separator: " "))")
        var pending = nodes
        let answered = try await Poll(timeout: timeout, every: .milliseconds(300)).until { () -> Bool? in
            var still: [NodeEndpoints] = []
            for node in pending {
                if supervisor.runningPid(node.name, .gateway) == nil {
                    throw failure("\(node.name) gateway exited while waiting for its /health answer; its log: \(layout.logFile(node.name, .gateway))",
                                  nodes: nodes)
                } else if await OperationsClient(baseURL: node.operationsURL, credentials: nil).isHealthy() {
                    report("\(node.name) healthy at \(node.operationsURL)")
                } else {
                    still.append(node)
                }
            }
            pending = still
            return pending.isEmpty ? true : nil
        }
        guard answered == nil else { return }
        let logs = pending.map { "\(layout.logFile($0.name, .gateway)) ('skein cluster logs \($0.name) gateway')" }
        throw failure("""
            no /health answer within \(Int(timeout)) s from: \(pending.map(\.name).joined(separator: " "))
            waited for: HTTP 200 on GET /health from each node's gateway (replication not awaited yet)
            check: the gateway log of each node named: \(logs.joined(separator: ", ")), and the service output below
            """, nodes: nodes)
    }

    /// `what`, then the last lines of every service's output (`NODE/log/SERVICE.out`) of `nodes`.
    func failure(_ what: String, nodes: [NodeEndpoints]) -> LauncherError {
        var text = what
        for node in nodes {
            for service in NodeService.allCases {
                let path = layout.outputFile(node.name, service)
                guard let output = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
                text += "\n---- \(path) (last 20 lines)\n" + output.split(separator: "\n").suffix(20).joined(separator: "\n")
            }
        }
        return LauncherError(text + "\n" + Self.leftRunning)
    }

    static let leftRunning = "processes left as they are; 'skein cluster status' shows them, 'skein cluster down' stops them"
}
