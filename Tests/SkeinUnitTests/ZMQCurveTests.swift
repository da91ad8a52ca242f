import Foundation
import Logging
import Testing
import SkeinCore
@testable import SkeinService
@testable import SkeinZMQ

/// CURVE on `tcp://` service endpoints (docs/INTERFACES.md §5), over real sockets: the
/// node's own keypair gets answers, any other client gets nothing and is logged.
extension ZMQTests {
    static func newKeys() throws -> CurveKeys {
        let pair = try ZMQCurve.keypair()
        return CurveKeys(publicKey: try #require(Z85.decode(pair.publicKey)), secretKey: try #require(Z85.decode(pair.secretKey)))
    }

    /// A raw DEALER's request to `endpoint`: the reply, or nil when none came within
    /// `timeoutMillis` (a refused handshake never delivers it), waited for `onOwnThread`.
    func rawCall(_ endpoint: String, curve: (server: CurveKeys, client: CurveKeys)?, timeoutMillis: Int) async throws -> [[UInt8]]? {
        try await onOwnThread {
            let dealer = try ZMQSocket(type: .dealer)
            defer { dealer.close() }
            if let curve {
                try dealer.makeCurveClient(serverKey: curve.server.publicKey, publicKey: curve.client.publicKey, secretKey: curve.client.secretKey)
            }
            try dealer.connect(endpoint)
            try dealer.send([KeyCodec.encodeUInt64(1), Array("{\"op\":\"ping\"}".utf8), Array("{}".utf8)])
            return try receive(dealer, timeoutMillis: timeoutMillis)
        }
    }

    @Test func aCurveServerAnswersTheNodeKeyAndRefusesOtherClients() async throws {
        let node = try Self.newKeys(), stranger = try Self.newKeys()
        let logs = CapturedLogs()
        let endpoint = TCPEndpoint()
        let server = RPCServer(endpoint: endpoint.url, curve: node, logger: logs.logger) { _, respond in respond(RPCReply(json: ["pong": true])) }
        try server.start()
        defer { server.stop() }

        let client = RPCClient(serviceName: "store", endpoint: endpoint.url, curve: node, timeoutMillis: 5000, logger: Self.logger)
        try client.start()
        defer { client.stop() }
        try await waitUntilConnected(client)
        #expect(try await client.call(op: "ping", body: [:]) == ["pong": true])

        // The same raw request with the node's keypair is answered...
        #expect(try await rawCall(endpoint.url, curve: (node, node), timeoutMillis: 2000)?.count == 3)
        // ...but not with a key that is not the node's, even knowing the server's: ZAP says no.
        #expect(try await rawCall(endpoint.url, curve: (node, stranger), timeoutMillis: 1500) == nil)
        let refusal = logs.records.get().first { $0.message.contains("refused a ZeroMQ client") }
        #expect(refusal?.level == .warning)
        #expect(refusal?.metadata["client_key"] == .string(stranger.publicKeyText), "\(String(describing: refusal))")
        #expect(refusal?.metadata["remote_address"] == .string("127.0.0.1"))
        // No CURVE at all, or the wrong server key: the handshake fails, nothing is delivered.
        #expect(try await rawCall(endpoint.url, curve: nil, timeoutMillis: 500) == nil)
        let wrongServer = RPCClient(serviceName: "store", endpoint: endpoint.url, curve: stranger, timeoutMillis: 600_000, logger: Self.logger)
        try wrongServer.start()
        defer { wrongServer.stop() }
        await #expect(throws: SkeinError(status: 503, "store unavailable")) { try await wrongServer.call(op: "ping", body: [:]) }
        // The node's own client still gets through.
        #expect(try await client.call(op: "ping", body: [:]) == ["pong": true])
    }

    /// A client retrying in a loop is logged `LogRateLimit`'s burst times a minute, not each time.
    @Test func refusalsAreRateLimited() async throws {
        let node = try Self.newKeys(), stranger = try Self.newKeys()
        let logs = CapturedLogs()
        let endpoint = TCPEndpoint()
        let server = RPCServer(endpoint: endpoint.url, curve: node, logger: logs.logger) { _, respond in respond(RPCReply(json: [:])) }
        try server.start()
        defer { server.stop() }
        for _ in 0..<30 { #expect(try await rawCall(endpoint.url, curve: (node, stranger), timeoutMillis: 100) == nil) }
        let refusals = logs.records.get().filter { $0.message.contains("refused a ZeroMQ client") }
        #expect(refusals.count == LogRateLimit().burst, "\(refusals.count) refusals logged")
    }

    @Test func noticesTravelOverCurve() async throws {
        let first = try await firstNotice(TCPEndpoint().url, curve: try Self.newKeys())
        #expect(first?.0 == "dogs")
    }

    /// Whatever built the configuration, no socket listens or dials on tcp:// without keys.
    @Test func aTCPSocketWithoutKeysIsRefused() throws {
        let endpoint = TCPEndpoint()
        #expect(throws: ConfigError.self) { try RPCServer(endpoint: endpoint.url, logger: Self.logger) { _, _ in }.start() }
        #expect(throws: ConfigError.self) { try RPCClient(serviceName: "store", endpoint: endpoint.url, timeoutMillis: 100, logger: Self.logger).start() }
        #expect(throws: ConfigError.self) { try NoticePublisher(endpoint: endpoint.url, logger: Self.logger) }
    }

    /// `--generate-curve-keys` prints a pair the configuration takes as it is, inline or as a
    /// key file; a public key of another pair is refused at start.
    @Test func generatedKeysAreAPairAndAMismatchIsRefused() throws {
        let yaml = try CurveKeySetup.newKeypairYAML()
        let c = try NodeConfig.parse(yaml: "rootPath: /r\n" + yaml)
        try CurveKeySetup.check(c)
        try withTemporaryDirectory { dir in
            let path = dir + "/curve.yaml"
            try yaml.write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o600)
            #expect(try NodeConfig.parse(yaml: "rootPath: /r\nservices:\n  curve:\n    keyFile: \(path)\n").curveKeys == c.curveKeys)
        }
        let other = try Self.newKeys()
        let mixed = try NodeConfig.parse(yaml: "rootPath: /r\nservices:\n  curve:\n    publicKey: \"\(other.publicKeyText)\"\n    secretKey: \"\(c.curveKeys!.secretKeyText)\"\n")
        expectConfigError(key: "services.curve.publicKey") { try CurveKeySetup.check(mixed) }
    }

    @Test func aMalformedZAPRequestGetsAnErrorReply() {
        let reply = ZAPHandler().reply(to: [Array("0.9".utf8), Array("7".utf8)])
        #expect(reply.count == 6 && reply[1] == Array("7".utf8) && reply[2] == Array("500".utf8))
        let unknown = ZAPHandler().reply(to: [Array("1.0".utf8), [1], Array("nobody".utf8), Array("127.0.0.1".utf8), [], Array("CURVE".utf8), [UInt8](repeating: 0, count: 32)])
        #expect(unknown[2] == Array("400".utf8))
    }
}
