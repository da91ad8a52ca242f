/// A local cluster's certificates: a development CA made once in `pki/` (never committed:
/// the cluster directory is git-ignored) and one certificate per node in `NODE/tls/`
/// (CN and DNS SAN = the node name, IP SAN = its address), each made only when missing.
struct ClusterCertificates {
    let layout: ClusterLayout
    var authorityFile: String { layout.pkiDir + "/ca.pem" }

    /// Returns what it made, for the launcher's report.
    func ensure(nodes: [NodeEndpoints]) throws -> [String] {
        var made: [String] = []
        if !CertificateAuthority.exists(in: layout.pkiDir) {
            try CertificateAuthority(commonName: "Skein local development CA").write(to: layout.pkiDir)
            made.append("made a development CA in \(layout.pkiDir)")
        }
        let missing = nodes.filter { !NodeCertificate.exists(in: layout.tlsDir($0.name)) }
        guard !missing.isEmpty else { return made }
        let authority = try CertificateAuthority(directory: layout.pkiDir)
        for node in missing {
            try authority.issue(node: node.name, addresses: [node.host]).write(to: layout.tlsDir(node.name))
            made.append("made a certificate for \(node.name) (\(node.host))")
        }
        return made
    }

    func certificateFile(_ node: String) -> String { layout.tlsDir(node) + "/node.pem" }
    func keyFile(_ node: String) -> String { layout.tlsDir(node) + "/node.key" }
}
