import SkeinLauncher

/// What `skein cluster up` prints once the cluster answers: each node's URL and config,
/// the credentials, and requests to try.
struct UpSummary {
    let cluster: LocalCluster

    func lines() throws -> [String] {
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
        lines += ["", "credentials: \(credentials.username) / \(credentials.password)   (also in \(cluster.layout.manifestFile))", "",
                  "try:",
                  "  \(skein) ctl create_table --json '{\"database\":\"data\",\"table\":\"dog\",\"primary_key\":\"id\"}'",
                  "  \(skein) ctl insert --json '{\"database\":\"data\",\"table\":\"dog\",\"records\":[{\"id\":1,\"name\":\"Harper\"}]}'",
                  "  \(skein) ctl search_by_id --node \(last) --json '{\"database\":\"data\",\"table\":\"dog\",\"ids\":[1],\"get_attributes\":[\"*\"]}'"]
        return lines
    }
}
