import Foundation

/// A throwaway CA and node certificates, made by the repository's one home of certificate
/// making, `compose/lib/pki.sh` (openssl; the launcher's recipe), found by walking up from
/// this binary's directory to the checkout.
struct BenchPKI {
    let dir: String
    let library: String

    init() throws {
        var url = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        var found: String?
        while url.path != "/" && found == nil {
            let candidate = url.appendingPathComponent("compose/lib/pki.sh").path
            if FileManager.default.fileExists(atPath: candidate) { found = candidate }
            url = url.deletingLastPathComponent()
        }
        guard let found else { throw BenchError("compose/lib/pki.sh not found above the skein-bench binary: run it from a build in the checkout") }
        library = found
        dir = "/tmp/skbench-pki-\(UUID().uuidString.prefix(8))"
        ChildProcesses.shared.removeOnAbort(dir)
        try run("pki_make_ca", dir, "Skein Bench CA")
    }

    /// Makes `dir/NAME/node.pem` and `node.key` (CN and DNS SAN = name, IP SAN = ip);
    /// returns the node's `tls:` YAML section.
    func issue(node name: String, ip: String) throws -> String {
        let target = "\(dir)/\(name)"
        try run("pki_make_node_cert", target, dir, name, "DNS:\(name),IP:\(ip)")
        return """
            tls:
              certificate: \(target)/node.pem
              privateKey: \(target)/node.key
              certificateAuthority: \(dir)/ca.pem
            """
    }

    private func run(_ function: String, _ arguments: String...) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", "PKI_PROG=skein-bench; . \"$0\" && \"$@\"", library, function] + arguments
        p.standardInput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw BenchError("\(function) \(arguments.first ?? "") failed: \(p.terminationStatus)") }
    }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }
}
