import Foundation
import SkeinLauncher
import SwiftASN1
import Testing
import X509

/// The launcher's certificate maker (swift-certificates), checked against openssl.
@Suite("Launcher: cluster certificates")
struct LauncherCertificateTests {
    @Test("a node certificate chains to its CA and carries the name, address and uses the replicator checks")
    func nodeCertificateVerifiesAgainstItsAuthority() async throws {
        let authority = try CertificateAuthority(commonName: "Test CA")
        let node = try authority.issue(node: "node-b", addresses: ["127.0.0.2"], aliases: ["b.replicas.test"])
        var verifier = Verifier(rootCertificates: CertificateStore([authority.certificate])) { RFC5280Policy() }
        guard case .validCertificate = await verifier.validate(leaf: node.certificate, intermediates: CertificateStore()) else {
            Issue.record("node certificate does not verify against its CA")
            return
        }
        let names = try #require(try node.certificate.extensions.subjectAlternativeNames)
        #expect(names.contains(.dnsName("node-b")))
        #expect(names.contains(.dnsName("b.replicas.test")))
        #expect(names.contains(.ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 2]))))
        let usages = try #require(try node.certificate.extensions.extendedKeyUsage)
        #expect(usages.contains(.serverAuth) && usages.contains(.clientAuth))
        #expect(try node.certificate.extensions.basicConstraints == .notCertificateAuthority)
        #expect(node.certificate.subject.description.contains("CN=node-b"))
    }

    @Test("a certificate from another CA does not verify")
    func foreignCertificateIsRefused() async throws {
        let ours = try CertificateAuthority(commonName: "Ours"), theirs = try CertificateAuthority(commonName: "Theirs")
        let stranger = try theirs.issue(node: "node-a", addresses: ["127.0.0.1"])
        var verifier = Verifier(rootCertificates: CertificateStore([ours.certificate])) { RFC5280Policy() }
        guard case .couldNotValidate = await verifier.validate(leaf: stranger.certificate, intermediates: CertificateStore()) else {
            Issue.record("a foreign certificate verified")
            return
        }
    }

    @Test("an expired certificate fails verification now")
    func expiredCertificateIsRefused() async throws {
        let authority = try CertificateAuthority(commonName: "Test CA")
        let old = DateInterval(start: Date(timeIntervalSince1970: 1_577_836_800), duration: 86_400)
        let node = try authority.issue(node: "node-a", addresses: ["127.0.0.1"], validity: old)
        var verifier = Verifier(rootCertificates: CertificateStore([authority.certificate])) { RFC5280Policy() }
        guard case .couldNotValidate = await verifier.validate(leaf: node.certificate, intermediates: CertificateStore()) else {
            Issue.record("an expired certificate verified")
            return
        }
    }

    @Test("a CA written to disk is read back and signs what openssl verifies; keys are 0600")
    func authorityRoundTripsThroughFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("skein-launcher-pki-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CertificateAuthority(commonName: "Disk CA").write(to: dir)
        #expect(CertificateAuthority.exists(in: dir))
        let paths = try CertificateAuthority(directory: dir).issue(node: "node-c", addresses: ["127.0.0.3"]).write(to: dir + "/node-c")
        for key in [dir + "/ca.key", paths.key] {
            let mode = try FileManager.default.attributesOfItem(atPath: key)[.posixPermissions] as? Int
            #expect(mode == 0o600)
        }
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = ["verify", "-purpose", "sslserver", "-CAfile", dir + "/ca.pem", paths.certificate]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        #expect(openssl.terminationStatus == 0)
    }
}
