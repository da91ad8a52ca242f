import ArgumentParser
import SkeinLauncher

/// `skein pki`: a cluster CA and node certificates as files, for deployments that run no
/// local cluster (the docker image's `certs`, deploy/kubernetes/make-secrets), with the
/// recipe `skein cluster` uses (`CertificateAuthority`). A file pair that exists is kept, so
/// running it again never replaces a cluster's CA or a node's certificate.
struct PKICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pki",
        abstract: "Make a cluster CA or a node certificate into a directory (kept when present).",
        discussion: """
            Example: skein pki ca /pki --name "My cluster CA"
                     skein pki node /nodes/node-a/tls --ca /pki --name node-a --dns localhost --ip 127.0.0.1
            """,
        subcommands: [PKICA.self, PKINode.self])
}

struct PKICA: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ca",
        abstract: "Make DIR/ca.pem and DIR/ca.key (EC P-256, CA:TRUE, 10 years) unless both exist.")

    @Argument(help: "The CA's directory (made when missing).")
    var directory: String

    @Option(help: "The CA certificate's common name.")
    var name = "Skein cluster CA"

    func run() async throws {
        guard !CertificateAuthority.exists(in: directory) else { return print("\(directory)/ca.pem: kept") }
        try CertificateAuthority(commonName: name).write(to: directory)
        print("made a CA in \(directory) (CN=\(name))")
    }
}

struct PKINode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Make DIR/node.pem and DIR/node.key signed by a CA unless both exist.",
        discussion: "CN and first DNS name = --name (the name the node states to its peers); EKU serverAuth and clientAuth; 825 days.")

    @Argument(help: "The node certificate's directory (made when missing).")
    var directory: String

    @Option(help: "The directory holding the signing CA's ca.pem and ca.key.")
    var ca: String

    @Option(help: "The node's name.")
    var name: String

    @Option(help: "A further DNS name (repeat the option for more).")
    var dns: [String] = []

    @Option(help: "An IP address the certificate is valid for (repeat the option for more).")
    var ip: [String] = []

    func run() async throws {
        guard !NodeCertificate.exists(in: directory) else { return print("\(directory)/node.pem: kept") }
        guard CertificateAuthority.exists(in: ca) else { throw ValidationError("no CA in \(ca) (make one: skein pki ca \(ca))") }
        try CertificateAuthority(directory: ca).issue(node: name, addresses: ip, aliases: dns).write(to: directory)
        print("made a certificate for \(name) in \(directory)")
    }
}
