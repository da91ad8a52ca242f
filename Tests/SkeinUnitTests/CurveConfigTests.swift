import Foundation
import Testing
@testable import SkeinCore

/// `services.curve.*`: a `tcp://` service endpoint needs the node's CURVE keypair
/// (docs/INTERFACES.md §2, §5); every refusal names the key to fix.
@Suite("Node configuration: CURVE keys")
struct CurveConfigTests {
    /// Two well-formed keys (any 32 bytes are a key to the configuration; `CurveKeySetup`
    /// checks at start that they are a pair).
    static let publicText = Z85.encode((0..<32).map { UInt8($0) })
    static let secretText = Z85.encode((0..<32).map { UInt8(255 - $0) })
    static let keysYAML = "  curve:\n    publicKey: \"\(publicText)\"\n    secretKey: \"\(secretText)\"\n"

    static func parse(_ services: String, environment: [String: String] = [:]) throws -> NodeConfig {
        try NodeConfig.parse(yaml: "rootPath: /r\nservices:\n" + services, environment: environment)
    }

    @Test(arguments: [
        ("  store: tcp://127.0.0.1:7001\n", "services.store"),
        ("  storeNotices: tcp://10.0.0.1:7002\n", "services.storeNotices"),
        ("  auditd: tcp://127.0.0.1:7003\n", "services.auditd"),
        ("  replicator: tcp://127.0.0.1:7004\n", "services.replicator"),
        ("  replicators: [ipc:///r/run/replicator.sock, tcp://127.0.0.1:7005]\n", "services.replicators[1]"),
    ])
    func aTCPEndpointWithoutKeysNamesTheKeyAndTheEndpoint(services: String, endpointKey: String) {
        do {
            _ = try Self.parse(services)
            Issue.record("accepted \(services)")
        } catch let error as ConfigError {
            #expect(error.key == "services.curve.secretKey")
            #expect(error.description.hasPrefix("invalid configuration: services.curve.secretKey: is required for the tcp:// endpoint \(endpointKey) (tcp://"),
                    "\(error)")
            #expect(error.description.contains("--generate-curve-keys"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func ipcNeedsNoKeysAndKeysAreReadWhenGiven() throws {
        #expect(try Self.parse("  runDir: /r/run\n").curveKeys == nil)
        let c = try Self.parse("  store: tcp://127.0.0.1:7001\n" + Self.keysYAML)
        #expect(c.curveKeys?.publicKeyText == Self.publicText && c.curveKeys?.secretKeyText == Self.secretText)
        #expect(c.storeEndpoint == "tcp://127.0.0.1:7001")
        // Keys with only ipc endpoints are checked and kept (unused).
        #expect(try Self.parse(Self.keysYAML).curveKeys?.publicKey == (0..<32).map { UInt8($0) })
        // From the environment, as every key.
        let env = try Self.parse("  auditd: tcp://127.0.0.1:7003\n", environment: [
            "SKEIN_SERVICES_CURVE_PUBLICKEY": Self.publicText, "SKEIN_SERVICES_CURVE_SECRETKEY": Self.secretText + "\n",
        ])
        #expect(env.curveKeys?.secretKeyText == Self.secretText)
        // A log line of the keys never shows the secret one.
        #expect(!"\(env.curveKeys!)".contains(Self.secretText))
    }

    @Test(arguments: [
        ("only the secret key", "  curve:\n    secretKey: \"\(CurveConfigTests.secretText)\"\n", "services.curve.publicKey"),
        ("only the public key", "  curve:\n    publicKey: \"\(CurveConfigTests.publicText)\"\n", "services.curve.secretKey"),
        ("39 characters", "  curve:\n    publicKey: \"\(CurveConfigTests.publicText.dropLast())\"\n    secretKey: \"\(CurveConfigTests.secretText)\"\n", "services.curve.publicKey"),
        ("not Z85", "  curve:\n    publicKey: \"\(CurveConfigTests.publicText)\"\n    secretKey: \"\(CurveConfigTests.secretText.dropLast())~\"\n", "services.curve.secretKey"),
        ("a group over 32 bits", "  curve:\n    publicKey: \"\(String(repeating: "#", count: 40))\"\n    secretKey: \"\(CurveConfigTests.secretText)\"\n", "services.curve.publicKey"),
        ("a list", "  curve:\n    publicKey: [a]\n    secretKey: \"\(CurveConfigTests.secretText)\"\n", "services.curve.publicKey"),
    ])
    func invalidKeysNameTheKey(name: String, services: String, key: String) {
        expectConfigError(key: key, name) { try Self.parse("  store: tcp://127.0.0.1:7001\n" + services) }
        expectConfigError(key: key, name + " (ipc)") { try Self.parse(services) }
    }

    /// The error a configuration naming only the key file `path` is refused with; nil when accepted.
    static func keyFileRefusal(_ path: String) -> ConfigError? {
        do {
            _ = try parse("  curve:\n    keyFile: \(path)\n")
            return nil
        } catch {
            return error as? ConfigError
        }
    }

    /// `services.curve.keyFile`: the same keys in a file only its owner can read.
    @Test func keyFile() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/curve.yaml"
            try ("services:\n" + Self.keysYAML).write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o600)
            let c = try Self.parse("  store: tcp://127.0.0.1:7001\n  curve:\n    keyFile: \(path)\n")
            #expect(c.curveKeys?.publicKeyText == Self.publicText && c.curveKeys?.secretKeyText == Self.secretText)

            chmod(path, 0o640)
            let readable = Self.keyFileRefusal(path)
            #expect(readable?.key == "services.curve.keyFile")
            #expect(readable?.problem.contains("mode 640") == true && readable?.problem.contains("chmod 600 \(path)") == true, "\(String(describing: readable))")
            chmod(path, 0o600)
            expectConfigError(key: "services.curve.keyFile", "keys in the file and inline") {
                try Self.parse("  curve:\n    keyFile: \(path)\n    publicKey: \"\(Self.publicText)\"\n    secretKey: \"\(Self.secretText)\"\n")
            }
            expectConfigError(key: "services.curve.keyFile", "missing file") { try Self.parse("  curve:\n    keyFile: \(dir)/none.yaml\n") }

            try "services:\n  curve:\n    publicKey: \"\(Self.publicText)\"\n".write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o600)
            let incomplete = Self.keyFileRefusal(path)
            #expect(incomplete?.key == "services.curve.keyFile")
            #expect(incomplete?.problem.contains("services.curve.secretKey") == true, "\(String(describing: incomplete))")
        }
    }

    /// RFC 32's test vector, and keys round-trip.
    @Test func z85() {
        let bytes: [UInt8] = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]
        #expect(Z85.encode(bytes) == "HelloWorld")
        #expect(Z85.decode("HelloWorld") == bytes)
        #expect(Z85.decode(Self.secretText) == (0..<32).map { UInt8(255 - $0) })
        #expect(Z85.decode("Hello") != nil && Z85.decode("Hell") == nil && Z85.decode("Hell\"") == nil && Z85.decode("%nSc1") == nil)
    }
}
