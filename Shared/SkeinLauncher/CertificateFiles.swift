import Crypto
import Foundation
import SwiftASN1
import X509

/// The two PEM files of one certificate, `STEM.pem` and `STEM.key`: the key is written with
/// mode 0600 from the start (never readable by others, not even briefly).
struct CertificateFiles {
    let directory: String
    let stem: String
    var certificatePath: String { "\(directory)/\(stem).pem" }
    var keyPath: String { "\(directory)/\(stem).key" }

    var exist: Bool {
        FileManager.default.fileExists(atPath: certificatePath) && FileManager.default.fileExists(atPath: keyPath)
    }

    func write(certificate: Certificate, key: P256.Signing.PrivateKey) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try PrivateFile.write(key.pemRepresentation + "\n", to: keyPath)
        try (try certificate.serializeAsPEM().pemString + "\n").write(toFile: certificatePath, atomically: true, encoding: .utf8)
    }

    func readCertificate() throws -> String { try String(contentsOfFile: certificatePath, encoding: .utf8) }
    func readKey() throws -> String { try String(contentsOfFile: keyPath, encoding: .utf8) }
}
