import NIOSSL
import SwiftASN1
import X509

/// What a peer's certificate vouches for. The identity rule of docs/INTERFACES.md §8 checks
/// the name a peer states in `hello` against `names(of:)`; the serial is what a revocation
/// list names. This is the one place both are read, for either side of a connection.
public enum CertificateNames {
    /// The subject's common names and the DNS subject alternative names. IP SANs are left
    /// out: a node is known by name, not by where it happens to run. Empty for a
    /// certificate that does not parse.
    public static func names(of certificate: NIOSSLCertificate) -> Set<String> {
        guard let parsed = parse(certificate) else { return [] }
        var names: Set<String> = []
        for rdn in parsed.subject {
            for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
                if let name = String(attribute.value) { names.insert(name) }
            }
        }
        if let sans = try? parsed.extensions.subjectAlternativeNames {
            for case .dnsName(let name) in sans { names.insert(name) }
        }
        return names
    }

    /// The serial number as lowercase hex without leading zeros or separators ("1f03a9"),
    /// the spelling `openssl x509 -serial` gives once lowercased and stripped, so an
    /// operator can match it by eye. Nil for a certificate that does not parse.
    public static func serial(of certificate: NIOSSLCertificate) -> String? {
        guard let parsed = parse(certificate) else { return nil }
        let hex = parsed.serialNumber.bytes.map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
        let trimmed = hex.drop { $0 == "0" }
        return trimmed.isEmpty ? "0" : String(trimmed)
    }

    private static func parse(_ certificate: NIOSSLCertificate) -> Certificate? {
        guard let bytes = try? certificate.toDERBytes() else { return nil }
        return try? Certificate(derEncoded: bytes)
    }
}
