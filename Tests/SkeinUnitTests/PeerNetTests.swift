import Foundation
import Logging
import NIOCore
import Testing
@testable import SkeinPeerNet

/// The replication transport over real TLS 1.3 on loopback: certificates from openssl,
/// servers on port 0, every wait bounded. One test at a time: the 5 MiB messages keep a
/// debug build's event loops busy for a good part of a second, which would look like
/// silence to the liveness tests' short ping intervals.
@Suite("Peer transport: TLS WebSocket on SwiftNIO (docs/INTERFACES.md §8)", .serialized, .timeLimit(.minutes(2)))
struct PeerNetTests {
    static let quiet = Logger(label: "skein.peernet-tests", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Echoes every message until the peer closes.
    static let echo: @Sendable (PeerSocket, String) async -> Void = { socket, _ in
        while let text = try? await socket.receive() { try? await socket.send(text: text) }
    }

    /// A CA with node-a (the dialler) and node-b (the server), removed afterwards.
    func withNodes(_ body: (PeerNetPKI, PeerNetIdentity, PeerNetIdentity) async throws -> Void) async throws {
        let pki = try PeerNetPKI(name: "PeerNet Test CA")
        defer { pki.remove() }
        try await body(pki, try pki.node("node-a"), try pki.node("node-b"))
    }

    func server(_ identity: PeerNetIdentity, port: Int = 0, reusePort: Bool = false, maxMessageBytes: Int = 64 << 20,
                pingInterval: TimeAmount = .seconds(15), logger: Logger = quiet) -> PeerServer {
        PeerServer(host: "127.0.0.1", port: port, reusePort: reusePort, tls: identity.server, maxMessageBytes: maxMessageBytes,
                   pingInterval: pingInterval, logger: logger)
    }

    func dial(_ port: Int, as identity: PeerNetIdentity, path: String = "/replicate/data", serverName: String = "node-b",
              source: String? = nil, pingInterval: TimeAmount = .seconds(15), connectTimeout: TimeAmount = .seconds(5)) async throws -> PeerSocket {
        let tls = identity.client
        return try await within(30, "dialling") {
            try await PeerDialer.connect(host: "127.0.0.1", port: port, path: path, serverName: serverName, sourceAddress: source,
                                         tls: tls, pingInterval: pingInterval, connectTimeout: connectTimeout)
        }
    }

    // MARK: Messages

    @Test func textBothWays() async throws {
        try await withNodes { _, a, b in
            let ended = PeerNetInbox<String>()
            try await withPeerServer(server(b), handler: { socket, path in
                try? await socket.send(text: "welcome to \(path)")
                while let text = try? await socket.receive() { try? await socket.send(text: "echo: " + text) }
                ended.put("handler returned")
            }) { port in
                let socket = try await dial(port, as: a)
                #expect(try await socket.receive() == "welcome to /replicate/data")
                try await socket.send(text: #"{"type":"hello","node":"nöde-a"}"#)
                #expect(try await socket.receive() == #"echo: {"type":"hello","node":"nöde-a"}"#)
                try await socket.send(text: "")
                #expect(try await socket.receive() == "echo: ")
                await socket.close()
                #expect(try await ended.next() == "handler returned")
                #expect(try await socket.receive() == nil)
            }
        }
    }

    @Test func handlerReturningClosesTheConnectionNormally() async throws {
        try await withNodes { _, a, b in
            try await withPeerServer(server(b), handler: { _, _ in }) { port in
                let socket = try await dial(port, as: a)
                #expect(try await within(10, "the close") { try await socket.receive() } == nil)
            }
        }
    }

    @Test func largeMessagesArriveWholeAndUninterleaved() async throws {
        try await withNodes { _, a, b in
            try await withPeerServer(server(b), handler: Self.echo) { port in
                let socket = try await dial(port, as: a)
                // 5 MiB: hundreds of fragments each way.
                let big = String((0..<(5 << 20)).lazy.map { Character(UnicodeScalar(UInt8(97 + $0 % 26))) })
                try await socket.send(text: big)
                let echoed = try await within(30, "the 5 MiB echo") { try await socket.receive() }
                #expect(echoed?.utf8.count == 5 << 20)
                #expect(echoed == big)

                // Two senders at once: each message still arrives whole.
                let x = String(repeating: "x", count: 1 << 20), y = String(repeating: "y", count: 1 << 20)
                async let sentX: Void = socket.send(text: x)
                async let sentY: Void = socket.send(text: y)
                _ = try await (sentX, sentY)
                let first = try await socket.receive(), second = try await socket.receive()
                #expect(Set([first, second]) == Set([x, y]))
            }
        }
    }

    @Test func aMessageOverTheLimitFailsTheConnection() async throws {
        try await withNodes { _, a, b in
            let outcome = PeerNetInbox<String>()
            try await withPeerServer(server(b, maxMessageBytes: 1 << 20), handler: { socket, _ in
                do {
                    _ = try await socket.receive()
                    outcome.put("received it")
                } catch {
                    outcome.put("\(error)")
                }
            }) { port in
                let socket = try await dial(port, as: a)
                try? await socket.send(text: String(repeating: "z", count: 2 << 20))
                #expect(try await outcome.next() == "\(PeerNetError.messageTooLarge(limit: 1 << 20))")
                // The dialler sees the connection end: the 1009 close, or a reset if it was still sending.
                _ = try await within(10, "the end of the connection") { try? await socket.receive() }
            }
        }
    }

    // MARK: Addresses and ports

    @Test func dialsFromTheSourceAddress() async throws {
        try await withNodes { _, a, b in
            let remote = PeerNetInbox<String>()
            try await withPeerServer(server(b), handler: { socket, _ in remote.put(socket.remoteAddress) }) { port in
                let socket = try await dial(port, as: a, source: "127.0.0.2")
                #expect(try await remote.next().hasPrefix("127.0.0.2:"))
                #expect(socket.localAddress.hasPrefix("127.0.0.2:"))
                #expect(socket.remoteAddress == "127.0.0.1:\(port)")
                await socket.close()
            }
            await #expect(throws: PeerNetError.self) {
                _ = try await PeerDialer.connect(host: "127.0.0.1", port: 9, path: "/", serverName: "node-b", sourceAddress: "node-a", tls: a.client)
            }
        }
    }

    @Test func serversSharingAPortWithReusePortBothServe() async throws {
        try await withNodes { _, a, b in
            let served = PeerNetInbox<String>()
            try await withPeerServer(server(b, reusePort: true), handler: { _, _ in served.put("first") }) { port in
                try await withPeerServer(server(b, port: port, reusePort: true), handler: { _, _ in served.put("second") }) { shared in
                    #expect(shared == port)
                    // The kernel spreads connections by hash: both get some within a few dozen.
                    var seen: Set<String> = []
                    for _ in 0..<64 where seen.count < 2 {
                        let socket = try await dial(port, as: a)
                        seen.insert(try await served.next())
                        await socket.close()
                    }
                    #expect(seen == ["first", "second"])
                }
                // Without SO_REUSEPORT the taken port cannot be bound.
                let taken = server(b, port: port, reusePort: false)
                let outcome = try await within(10, "binding a taken port") { () -> String in
                    do {
                        try await taken.run(accept: { _ in true }, handler: { _, _ in })
                        return "served"
                    } catch {
                        return "\(error)"
                    }
                }
                #expect(outcome.contains("Address already in use"))
            }
        }
    }

    // MARK: Refusals

    @Test func aRefusedPathFailsTheDialWith404() async throws {
        try await withNodes { _, a, b in
            let ran = Locked(false)
            try await withPeerServer(server(b), accept: { $0 == "/replicate/data" }, handler: { _, _ in ran.update { $0 = true } }) { port in
                let error = await #expect(throws: PeerNetError.self) { try await dial(port, as: a, path: "/replicate/other?x=1") }
                guard case .upgradeRefused(404, "/replicate/other?x=1")? = error else {
                    Issue.record("got \(String(describing: error))")
                    return
                }
                #expect(!PeerNetError.isRefusal(error!))
                let socket = try await dial(port, as: a, path: "/replicate/data?x=1")
                await socket.close()
            }
            #expect(ran.get())
        }
    }

    @Test func aClientCertificateFromAnotherCAIsRefused() async throws {
        try await withNodes { pki, _, b in
            let foreign = try PeerNetPKI(name: "Foreign CA")
            defer { foreign.remove() }
            let stranger = try foreign.node("node-a").trusting(pki)
            let logs = CapturedLogs()
            let ran = Locked(false)
            try await withPeerServer(server(b, logger: logs.logger), handler: { _, _ in ran.update { $0 = true } }) { port in
                let error = await #expect(throws: (any Error).self) { try await dial(port, as: stranger) }
                #expect(error.map(PeerNetError.isRefusal) == true)
                #expect("\(error!)".hasPrefix("the peer refused our certificate: "))
                try await within(10, "the server's warning") {
                    while !logs.records.get().contains(where: { $0.level == .warning && $0.message == "refused replication connection" }) {
                        try await Task.sleep(for: .milliseconds(20))
                    }
                }
                let warning = logs.records.get().first { $0.message == "refused replication connection" }
                #expect(warning?.metadata["reason"].map { "\($0)".contains("certificate") } == true)
                #expect(warning?.metadata["remote_address"].map { "\($0)".hasPrefix("127.0.0.1:") } == true)
            }
            #expect(!ran.get())
        }
    }

    /// A flood of bad certificates is logged a bounded number of times (LogRateLimit: 10 a minute).
    @Test func refusedHandshakesAreRateLimitedInTheLog() async throws {
        try await withNodes { pki, _, b in
            let foreign = try PeerNetPKI(name: "Foreign CA")
            defer { foreign.remove() }
            let stranger = try foreign.node("node-a").trusting(pki)
            let logs = CapturedLogs()
            try await withPeerServer(server(b, logger: logs.logger), handler: { _, _ in }) { port in
                for _ in 0..<15 { _ = try? await dial(port, as: stranger) }
                try await Task.sleep(for: .milliseconds(300))
            }
            let warnings = logs.records.get().filter { $0.message == "refused replication connection" }
            #expect(warnings.count == 10, "\(warnings.count) warnings for 15 refused handshakes")
        }
    }

    @Test func aServerCertificateWithoutTheDialledNameIsRefused() async throws {
        try await withNodes { _, a, b in
            let ran = Locked(false)
            try await withPeerServer(server(b), handler: { _, _ in ran.update { $0 = true } }) { port in
                let error = await #expect(throws: PeerNetError.self) { try await dial(port, as: a, serverName: "node-c") }
                guard case .peerCertificateRejected? = error else {
                    Issue.record("got \(String(describing: error))")
                    return
                }
                #expect(PeerNetError.isRefusal(error!))
            }
            #expect(!ran.get())
        }
    }

    @Test func aPolicyViolationCloseReachesTheDiallerAsARefusal() async throws {
        try await withNodes { _, a, b in
            try await withPeerServer(server(b), handler: { socket, _ in
                _ = try? await socket.receive()
                await socket.close(policyViolation: #"stated node name "node-z" is not in its certificate"#)
            }) { port in
                let socket = try await dial(port, as: a)
                try await socket.send(text: #"{"type":"hello","node":"node-z"}"#)
                let error = await #expect(throws: PeerNetError.self) { try await within(10, "the refusal") { try await socket.receive() } }
                guard case .closedByPeer(1008, let reason)? = error else {
                    Issue.record("got \(String(describing: error))")
                    return
                }
                #expect(reason == #"stated node name "node-z" is not in its certificate"#)
                #expect(PeerNetError.isRefusal(error!))
                #expect("\(error!)".contains("policy violation (1008)"))
            }
        }
    }

    // MARK: Identity

    @Test func certificateNamesAndSerialOfEachSide() async throws {
        try await withNodes { pki, _, b in
            let a = try pki.node("node-a", ip: "127.0.0.2", aliases: ["a.replicas.test"])
            let seen = PeerNetInbox<[String]>()
            try await withPeerServer(server(b), handler: { socket, _ in
                seen.put(socket.certificateNames.sorted() + [socket.certificateSerial ?? "none"])
            }) { port in
                let socket = try await dial(port, as: a)
                #expect(try await seen.next() == ["a.replicas.test", "node-a", try a.opensslSerial()])
                #expect(socket.certificateNames == ["node-b"])
                #expect(socket.certificateSerial == (try b.opensslSerial()))
                await socket.close()
            }
        }
    }

    // MARK: Liveness

    @Test func aPeerThatFallsSilentIsDetected() async throws {
        try await withNodes { _, a, b in
            let outcome = PeerNetInbox<String>()
            try await withPeerServer(server(b, pingInterval: .milliseconds(500)), handler: { socket, _ in
                do {
                    while let text = try await socket.receive() { try await socket.send(text: text) }
                    outcome.put("closed")
                } catch {
                    outcome.put("\(error)")
                }
            }) { port in
                let relay = try await PeerNetRelay.start(forwardingTo: port)
                defer { Task { await relay.stop() } }
                let socket = try await dial(relay.port, as: a, pingInterval: .milliseconds(500))
                try await socket.send(text: "are you there")
                #expect(try await socket.receive() == "are you there")
                relay.freeze()
                let error = await #expect(throws: PeerNetError.self) { try await within(10, "dead-peer detection") { try await socket.receive() } }
                guard case .peerSilent? = error else {
                    Issue.record("got \(String(describing: error))")
                    return
                }
                #expect(try await outcome.next().hasPrefix("nothing received from the peer"))
            }
        }
    }

    @Test func aReaderThatPausesIsNotTakenForADeadPeer() async throws {
        try await withNodes { _, a, b in
            let message = String(repeating: "m", count: 256 << 10)
            try await withPeerServer(server(b, pingInterval: .milliseconds(250)), handler: { socket, _ in
                for _ in 0..<20 { try? await socket.send(text: message) }
                _ = try? await socket.receive()
            }) { port in
                let socket = try await dial(port, as: a, pingInterval: .milliseconds(250))
                // Ten ping intervals without reading while 5 MiB wait: back-pressure, not silence.
                try await Task.sleep(for: .milliseconds(2500))
                for _ in 0..<20 { #expect(try await socket.receive() == message) }
                await socket.close()
            }
        }
    }

    @Test func aStalledHandshakeTimesOut() async throws {
        try await withNodes { _, a, b in
            try await withPeerServer(server(b), handler: Self.echo) { port in
                let relay = try await PeerNetRelay.start(forwardingTo: port)
                defer { Task { await relay.stop() } }
                relay.freeze()
                let error = await #expect(throws: PeerNetError.self) { try await dial(relay.port, as: a, connectTimeout: .seconds(1)) }
                guard case .upgradeTimedOut? = error else {
                    Issue.record("got \(String(describing: error))")
                    return
                }
                #expect(!PeerNetError.isRefusal(error!))
            }
        }
    }

    @Test func boringSSLReasonsInWords() {
        #expect(TLSFailure.words("Error: 268435581 error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED at /src/handshake.cc:393")
            == "certificate verify failed")
        #expect(TLSFailure.words("Error: 268436502 error:10000416:SSL routines:OPENSSL_internal:TLSV1_ALERT_UNKNOWN_CA at /src/s3_pkt.cc:1")
            == "tlsv1 alert unknown ca")
        #expect(TLSFailure.words("EOF during handshake") == "eof during handshake")
    }
}
