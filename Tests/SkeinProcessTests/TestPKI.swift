import Foundation
import NIOSSL
import SkeinCore
import SkeinLauncher
import SkeinPeerNet

/// A throwaway certificate authority in its own directory, and node certificates it signs,
/// made by the launcher's certificate maker (CN and DNS SAN = the node name, IP SAN, EKU
/// serverAuth + clientAuth): the certificates a local cluster runs with.
struct TestPKI {
    let dir: String
    private let authority: CertificateAuthority
    var certificate: String { dir + "/ca.pem" }

    init(name: String) throws {
        dir = "/tmp/skt-pki-" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        authority = try CertificateAuthority(commonName: name)
        try authority.write(to: dir)
    }

    /// Writes `node.pem` and `node.key` into `target`; returns the tls.* config keys. With
    /// `expired`, the certificate was valid for one day in 2020.
    func issue(node: String, ip: String = "127.0.0.1", into target: String, expired: Bool = false) throws -> [String: JSON] {
        let validity = expired ? DateInterval(start: Date(timeIntervalSince1970: 1_577_836_800), duration: 86_400) : nil
        let files = try authority.issue(node: node, addresses: [ip], validity: validity).write(to: target)
        return ["tls.certificate": .string(files.certificate), "tls.privateKey": .string(files.key), "tls.certificateAuthority": .string(certificate)]
    }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }

    /// A certificate's serial as `tls.revokedSerials` takes it (lowercase hex).
    static func serial(ofCertificate pem: String) throws -> String {
        guard let first = try NIOSSLCertificate.fromPEMFile(pem).first, let serial = CertificateNames.serial(of: first) else {
            throw NodeError("no certificate in \(pem)")
        }
        return serial
    }
}
