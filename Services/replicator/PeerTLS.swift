import NIOSSL
import SkeinCore
import SkeinPeerNet

/// This node's TLS material (`tls.certificate`, `tls.privateKey`, `tls.certificateAuthority`)
/// and the two configurations built from it: TLS 1.3, client certificates both ways, peers
/// verified against the configured CA only.
struct PeerTLS: Sendable {
    let chain: [NIOSSLCertificate]
    let key: NIOSSLPrivateKey
    let authorities: [NIOSSLCertificate]

    /// Loads the PEM files; a missing or unreadable one is a ConfigError naming its key.
    init(config: NodeConfig) throws {
        func path(_ value: String?, _ key: String) throws -> String {
            guard let value, !value.isEmpty else { throw ConfigError(key: key, problem: "is required to run the replicator (a PEM file)") }
            return value
        }
        let certificate = try path(config.tlsCertificate, "tls.certificate")
        let privateKey = try path(config.tlsPrivateKey, "tls.privateKey")
        let authority = try path(config.tlsCertificateAuthority, "tls.certificateAuthority")
        do { chain = try NIOSSLCertificate.fromPEMFile(certificate) } catch {
            throw ConfigError(key: "tls.certificate", problem: "cannot read a PEM certificate from \(certificate): \(error)")
        }
        guard !chain.isEmpty else { throw ConfigError(key: "tls.certificate", problem: "no certificate in \(certificate)") }
        do { key = try NIOSSLPrivateKey(file: privateKey, format: .pem) } catch {
            throw ConfigError(key: "tls.privateKey", problem: "cannot read a PEM private key from \(privateKey): \(error)")
        }
        do { authorities = try NIOSSLCertificate.fromPEMFile(authority) } catch {
            throw ConfigError(key: "tls.certificateAuthority", problem: "cannot read PEM certificates from \(authority): \(error)")
        }
        guard !authorities.isEmpty else { throw ConfigError(key: "tls.certificateAuthority", problem: "no certificate in \(authority)") }
        let own = CertificateNames.names(of: chain[0])
        guard own.contains(config.nodeName) else {
            throw ConfigError(key: "tls.certificate", problem: "names \(own.sorted()) do not include this node's name \"\(config.nodeName)\" (replication.hostname)")
        }
    }

    /// The listener's configuration (client certificates required, chained to our CA).
    var server: TLSConfiguration { PeerTLSConfiguration.server(chain: chain, key: key, authorities: authorities) }

    /// The dialler's: our certificate, the peer's verified against our CA and the route's name.
    var client: TLSConfiguration { PeerTLSConfiguration.client(chain: chain, key: key, authorities: authorities) }
}
