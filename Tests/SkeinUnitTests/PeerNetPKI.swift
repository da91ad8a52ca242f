import Foundation
import NIOSSL
import SkeinLauncher
import SkeinPeerNet

/// Real certificates for the transport tests, made by the launcher's certificate maker in a
/// fresh directory: a CA (EC P-256) and node certificates it signs the way a deployment's
/// are (CN = the node name, SAN DNS names + one IP, EKU serverAuth + clientAuth), so TLS
/// runs as in production.
struct PeerNetPKI {
    let dir: String
    private let ca: CertificateAuthority
    var authority: String { dir + "/ca.pem" }

    init(name: String) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("skein-peernet-\(UUID().uuidString)").path
        ca = try CertificateAuthority(commonName: name)
        try ca.write(to: dir)
    }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }

    /// A node's certificate and key, signed by this CA, with `aliases` as further DNS SANs.
    func node(_ name: String, ip: String = "127.0.0.1", aliases: [String] = []) throws -> PeerNetIdentity {
        let files = try ca.issue(node: name, addresses: [ip], aliases: aliases).write(to: dir, stem: name)
        return try PeerNetIdentity(certificate: files.certificate, key: files.key, authority: authority)
    }
}

struct PeerNetPKIError: Error, CustomStringConvertible {
    let description: String
}

/// One node's TLS material and the replicator's two configurations over it.
struct PeerNetIdentity {
    let certificate: String
    let chain: [NIOSSLCertificate]
    let key: NIOSSLPrivateKey
    var roots: [NIOSSLCertificate]

    init(certificate: String, key: String, authority: String) throws {
        self.certificate = certificate
        chain = try NIOSSLCertificate.fromPEMFile(certificate)
        self.key = try NIOSSLPrivateKey(file: key, format: .pem)
        roots = try NIOSSLCertificate.fromPEMFile(authority)
    }

    var server: TLSConfiguration { PeerTLSConfiguration.server(chain: chain, key: key, authorities: roots) }
    var client: TLSConfiguration { PeerTLSConfiguration.client(chain: chain, key: key, authorities: roots) }

    /// The same certificate, trusting another CA's peers (a node of a foreign cluster that
    /// knows our CA).
    func trusting(_ pki: PeerNetPKI) throws -> PeerNetIdentity {
        var copy = self
        copy.roots = try NIOSSLCertificate.fromPEMFile(pki.authority)
        return copy
    }

    /// The serial as openssl prints it, lowercased and without leading zeros: an
    /// independent reading to check the transport's against.
    func opensslSerial() throws -> String {
        let process = Process(), output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["x509", "-noout", "-serial", "-in", certificate]
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let line = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw PeerNetPKIError(description: "openssl x509 -serial exited with \(process.terminationStatus)") }
        let hex = line.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "=").last.map(String.init) ?? ""
        return String(hex.lowercased().drop { $0 == "0" })
    }
}
