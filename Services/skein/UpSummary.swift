import Foundation
import SkeinCore
import SkeinLauncher

/// What `skein cluster up` prints once the cluster answers: each node's URL and config,
/// the credentials (their password only while it still logs in), and requests to try.
struct UpSummary {
    let cluster: LocalCluster

    func lines() async throws -> [String] {
        let credentials = try ClusterCredentials.load(cluster.layout)
        var lines = ["", "Skein cluster up (\(cluster.layout.root)):"]
        for node in cluster.nodes.map(cluster.endpoints) {
            lines.append("  \(node.name)  \(node.operationsURL)  config \(cluster.layout.configFile(node.name))")
            if let secure = node.secureURL {
                lines.append("  \(node.name)  \(secure)  (HTTPS; trust \(cluster.layout.pkiDir)/ca.pem: curl --cacert)")
            }
        }
        // This binary as it was called (compose/local calls it by its full path).
        let skein = CommandLine.arguments[0]
        let last = cluster.nodes.last ?? NodeNames.name(0)
        lines += ["", await credentialsLine(credentials), "",
                  "try:",
                  "  \(skein) ctl create_table --json '{\"database\":\"data\",\"table\":\"dog\",\"primary_key\":\"id\"}'",
                  "  \(skein) ctl insert --json '{\"database\":\"data\",\"table\":\"dog\",\"records\":[{\"id\":1,\"name\":\"Harper\"}]}'",
                  "  \(skein) ctl search_by_id --node \(last) --json '{\"database\":\"data\",\"table\":\"dog\",\"ids\":[1],\"get_attributes\":[\"*\"]}'"]
        return lines
    }

    /// The bootstrap credentials, or, when the first node refuses them (the admin's password
    /// was changed since, with alter_user), that they no longer log in, without the old password.
    private func credentialsLine(_ credentials: ClusterCredentials) async -> String {
        let first = cluster.endpoints(cluster.nodes.first ?? NodeNames.name(0))
        let request: JSON = ["operation": "user_info"]
        let status = try? await OperationsClient(baseURL: first.operationsURL, credentials: credentials)
            .post(Data(request.serialized()), timeout: 10).status
        guard let status, status == 401 || status == 403 else {
            return "credentials: \(credentials.username) / \(credentials.password)   (also in \(cluster.layout.manifestFile))"
        }
        return "credentials: \(credentials.username) / (password changed since bootstrap: \(first.name) answered \(status) to the one in "
            + "\(cluster.layout.credentialsFile); 'skein ctl' uses that file, so write the new password there)"
    }
}
