import Crypto
import Foundation
import X509

/// A node's certificate and private key, as `CertificateAuthority.issue` made them.
public struct NodeCertificate: Sendable {
    public let certificate: Certificate
    let key: P256.Signing.PrivateKey

    /// Writes `node.pem` and `node.key` (0600) into `directory`, creating it; returns their paths.
    @discardableResult
    public func write(to directory: String, stem: String = "node") throws -> (certificate: String, key: String) {
        let files = CertificateFiles(directory: directory, stem: stem)
        try files.write(certificate: certificate, key: key)
        return (files.certificatePath, files.keyPath)
    }

    /// Whether `directory` holds a node certificate and key, so a node gets one only once.
    public static func exists(in directory: String, stem: String = "node") -> Bool {
        CertificateFiles(directory: directory, stem: stem).exist
    }
}
