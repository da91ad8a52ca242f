import Foundation
import NIOSSL
import SkeinPeerNet

/// Real certificates for the transport tests, made by openssl in a fresh directory: a CA
/// (EC P-256) and node certificates it signs the way a deployment's are (CN = the node
/// name, SAN DNS names + one IP, EKU serverAuth + clientAuth), so TLS runs as in production.
struct PeerNetPKI {
    let dir: String
    var authority: String { dir + "/ca.pem" }

    init(name: String) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("skein-peernet-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Self.run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                     "-keyout", dir + "/ca.key", "-out", authority, "-subj", "/CN=\(name)",
                     "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }

    /// A node's certificate and key, signed by this CA, with `aliases` as further DNS SANs.
    func node(_ name: String, ip: String = "127.0.0.1", aliases: [String] = []) throws -> PeerNetIdentity {
        let base = "\(dir)/\(name)"
        let sans = ([name] + aliases).map { "DNS:\($0)" } + ["IP:\(ip)"]
        try "subjectAltName=\(sans.joined(separator: ","))\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n"
            .write(toFile: base + ".ext", atomically: true, encoding: .utf8)
        try Self.run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", base + ".key", "-out", base + ".csr", "-subj", "/CN=\(name)")
        try Self.run("x509", "-req", "-in", base + ".csr", "-CA", authority, "-CAkey", dir + "/ca.key", "-CAcreateserial",
                     "-days", "2", "-extfile", base + ".ext", "-out", base + ".pem")
        return try PeerNetIdentity(certificate: base + ".pem", key: base + ".key", authority: authority)
    }

    /// `openssl ARGS…`, its standard output; throws when it fails.
    @discardableResult
    static func run(_ arguments: String...) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw PeerNetPKIError(description: "openssl \(arguments.prefix(2).joined(separator: " ")) exited with \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self)
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

    /// The serial as openssl prints it, lowercased and without leading zeros.
    func opensslSerial() throws -> String {
        let line = try PeerNetPKI.run("x509", "-noout", "-serial", "-in", certificate)
        let hex = line.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "=").last.map(String.init) ?? ""
        return String(hex.lowercased().drop { $0 == "0" })
    }
}
