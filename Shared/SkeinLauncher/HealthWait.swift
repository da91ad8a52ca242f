import Foundation

/// Waits until every given node's gateway answers `/health` (and, with
/// `waitConnected`, until their replication links are up), failing fast when a service it
/// waits on has exited (it can then never answer), with the end of each node's service
/// output in the error.
struct HealthWait {
    let layout: ClusterLayout
    let supervisor: ServiceSupervisor
    let timeout: Double

    func wait(for nodes: [NodeEndpoints], report: (String) -> Void) async throws {
        report("waiting for /health on: \(nodes.map(\.name).joined(separator: " "))")
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int(timeout * 1000)))
        var pending = nodes
        while !pending.isEmpty {
            var still: [NodeEndpoints] = []
            for node in pending {
                if supervisor.runningPid(node.name, .gateway) == nil {
                    throw failure("\(node.name) gateway exited", nodes: nodes)
                } else if await OperationsClient(baseURL: node.operationsURL, credentials: nil).isHealthy() {
                    report("\(node.name) healthy at \(node.operationsURL)")
                } else {
                    still.append(node)
                }
            }
            pending = still
            if pending.isEmpty { break }
            if ContinuousClock.now >= deadline {
                throw failure("no /health answer within \(Int(timeout)) s from: \(pending.map(\.name).joined(separator: " "))", nodes: nodes)
            }
            try await Task.sleep(for: .milliseconds(300))
        }
    }

    func failure(_ what: String, nodes: [NodeEndpoints]) -> LauncherError {
        var text = what
        for node in nodes {
            for service in NodeService.allCases {
                let path = layout.outputFile(node.name, service)
                guard let output = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
                text += "\n---- \(path) (last 20 lines)\n" + output.split(separator: "\n").suffix(20).joined(separator: "\n")
            }
        }
        return LauncherError(text + "\nprocesses left as they are; 'skein cluster status' shows them, 'skein cluster down' stops them")
    }
}
