import Crypto
import Foundation
import SwiftASN1
import X509

/// A cluster's certificate authority: an EC P-256 key and a self-signed CA certificate
/// (basicConstraints CA:TRUE, keyUsage keyCertSign + cRLSign, critical). Every node
/// certificate of a cluster is signed by it and nodes trust only it. The one recipe for
/// every deployment: `skein cluster`, `skein pki` (the docker image's `certs`,
/// deploy/kubernetes/make-secrets), the benchmark and the tests.
public struct CertificateAuthority: Sendable {
    public let certificate: Certificate
    private let key: P256.Signing.PrivateKey

    /// A new CA named `commonName`, valid from an hour ago (clock skew between machines)
    /// for `validity` (10 years by default).
    public init(commonName: String, validity: TimeInterval = 10 * 365 * 86_400) throws {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName(commonName) }
        let now = Date()
        certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(validity),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: .init(key.publicKey))
            },
            issuerPrivateKey: .init(key))
        self.key = key
    }

    /// The CA kept in `directory` (`ca.pem`, `ca.key`), as `write(to:)` left it.
    public init(directory: String) throws {
        let files = CertificateFiles(directory: directory, stem: "ca")
        certificate = try Certificate(pemEncoded: try files.readCertificate())
        key = try P256.Signing.PrivateKey(pemRepresentation: try files.readKey())
    }

    /// Whether `directory` holds a CA (both files), so a cluster makes one only once.
    public static func exists(in directory: String) -> Bool {
        CertificateFiles(directory: directory, stem: "ca").exist
    }

    /// Writes `ca.pem` and `ca.key` (0600) into `directory`, creating it.
    public func write(to directory: String) throws {
        try CertificateFiles(directory: directory, stem: "ca").write(certificate: certificate, key: key)
    }

    /// A node's certificate: CN and first DNS SAN = `name` (the name it states to peers),
    /// further DNS SANs `aliases`, IP SANs `addresses`, EKU serverAuth + clientAuth (a node
    /// both listens and dials), CA:FALSE. `validity` (default 825 days from an hour ago)
    /// can lie in the past, for tests of expired certificates.
    public func issue(node name: String, addresses: [String], aliases: [String] = [],
                      validity: DateInterval? = nil) throws -> NodeCertificate {
        let nodeKey = P256.Signing.PrivateKey()
        let period = validity ?? DateInterval(start: Date().addingTimeInterval(-3600), duration: 3600 + 825 * 86_400)
        var alternativeNames = ([name] + aliases).map { GeneralName.dnsName($0) }
        for address in addresses { alternativeNames.append(.ipAddress(ASN1OctetString(contentBytes: try IPAddressBytes.parse(address)[...]))) }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(nodeKey.publicKey),
            notValidBefore: period.start, notValidAfter: period.end,
            issuer: self.certificate.subject, subject: try DistinguishedName { CommonName(name) },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                BasicConstraints.notCertificateAuthority
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames(alternativeNames)
            },
            issuerPrivateKey: .init(key))
        return NodeCertificate(certificate: certificate, key: nodeKey)
    }
}
