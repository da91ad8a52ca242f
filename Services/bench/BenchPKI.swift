import Foundation
import SkeinLauncher

/// A throwaway CA and node certificates, made by the launcher's certificate maker (the
/// recipe every local cluster uses), in a directory removed when the benchmark ends.
struct BenchPKI {
    let dir: String
    private let authority: CertificateAuthority

    init() throws {
        dir = "/tmp/skbench-pki-\(UUID().uuidString.prefix(8))"
        BenchGuard.shared.removeOnAbort(dir)
        authority = try CertificateAuthority(commonName: "Skein Bench CA")
        try authority.write(to: dir)
    }

    /// Makes `dir/NAME/node.pem` and `node.key` (CN and DNS SAN = name, IP SAN = ip);
    /// returns the paths a node's `tls:` section names.
    func issue(node name: String, ip: String) throws -> (certificate: String, key: String, authority: String) {
        let files = try authority.issue(node: name, addresses: [ip]).write(to: "\(dir)/\(name)")
        return (files.certificate, files.key, dir + "/ca.pem")
    }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }
}
