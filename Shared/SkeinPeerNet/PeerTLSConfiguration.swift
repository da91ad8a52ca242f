import NIOSSL

/// The two TLS configurations of replication (docs/INTERFACES.md §8), in one place for
/// every caller of this library (the replicator, tests, hand-made clients): TLS 1.3,
/// certificates both ways, peers verified against the configured CA only.
public enum PeerTLSConfiguration {
    /// The listener: requires a client certificate chained to `authorities`. No host name
    /// check, since a client is not at a known address: the application checks the name it
    /// states against `PeerSocket.certificateNames`.
    public static func server(chain: [NIOSSLCertificate], key: NIOSSLPrivateKey, authorities: [NIOSSLCertificate]) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeServerConfigurationWithMTLS(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key), trustRoots: .certificates(authorities))
        configuration.minimumTLSVersion = .tlsv13
        return configuration
    }

    /// The dialler: presents our certificate; the server's must chain to `authorities` and
    /// carry the name dialled (`PeerDialer.connect`'s `serverName`, checked against the
    /// certificate's CN and DNS SANs).
    public static func client(chain: [NIOSSLCertificate], key: NIOSSLPrivateKey, authorities: [NIOSSLCertificate]) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateChain = chain.map { .certificate($0) }
        configuration.privateKey = .privateKey(key)
        configuration.trustRoots = .certificates(authorities)
        configuration.certificateVerification = .fullVerification
        configuration.minimumTLSVersion = .tlsv13
        return configuration
    }
}
