import Foundation
import Logging
import Testing
import SkeinCore
@testable import SkeinService
@testable import SkeinZMQ

/// A value set from another thread.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func get() -> Value { lock.lock(); defer { lock.unlock() }; return value }
    func update(_ body: (inout Value) -> Void) { lock.lock(); body(&value); lock.unlock() }
}

@Suite("ZeroMQ sockets, RPC and notices", .timeLimit(.minutes(1)))
struct ZMQTests {
    static let logger = Logger(label: "skein.unit-tests", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Waits up to `timeoutMillis` for a message.
    func receive(_ socket: ZMQSocket, timeoutMillis: Int = 2000) throws -> [[UInt8]]? {
        let ready = try ZMQPoller.pollIn([.socket(socket)], timeoutMillis: timeoutMillis)
        guard ready[0] else { return nil }
        return try socket.receive(dontWait: true)
    }

    // MARK: Sockets

    @Test func routerDealerRoundTrip() throws {
        let endpoint = IPCEndpoint()
        defer { endpoint.remove() }
        let router = try ZMQSocket(type: .router)
        try router.bind(endpoint.url)
        let dealer = try ZMQSocket(type: .dealer)
        try dealer.connect(endpoint.url)
        defer { dealer.close(); router.close() }

        #expect(try router.receive(dontWait: true) == nil)
        #expect(try dealer.send([Array("hello".utf8)]))
        let request = try #require(try receive(router))
        #expect(request.count == 2) // [identity][hello]
        #expect(request[1] == Array("hello".utf8))
        let identity = request[0]
        #expect(!identity.isEmpty)

        #expect(try router.send([identity, Array("world".utf8)]))
        let reply = try #require(try receive(dealer))
        #expect(reply == [Array("world".utf8)])
    }

    @Test func multipartFramesArePreserved() throws {
        let endpoint = IPCEndpoint()
        defer { endpoint.remove() }
        let router = try ZMQSocket(type: .router)
        try router.bind(endpoint.url)
        let dealer = try ZMQSocket(type: .dealer)
        try dealer.connect(endpoint.url)
        defer { dealer.close(); router.close() }

        let frames: [[UInt8]] = [
            KeyCodec.encodeUInt64(42), [], Array("{\"op\":\"x\"}".utf8), (0..<256).map { UInt8($0) },
            [UInt8](repeating: 7, count: 300_000), [0],
        ]
        try dealer.send(frames)
        let got = try #require(try receive(router))
        #expect(Array(got.dropFirst()) == frames)
        try router.send([got[0]] + frames.reversed())
        #expect(try receive(dealer) == frames.reversed())
    }

    @Test func routerDropsRepliesToUnknownPeers() throws {
        let endpoint = IPCEndpoint()
        defer { endpoint.remove() }
        let router = try ZMQSocket(type: .router)
        try router.bind(endpoint.url)
        defer { router.close() }
        // Not mandatory routing: an unknown identity is dropped, not an error.
        #expect(try router.send([Array("nobody".utf8), Array("x".utf8)]))
    }

    @Test func bindReplacesStaleSocketFile() throws {
        let endpoint = IPCEndpoint()
        defer { endpoint.remove() }
        _ = FileManager.default.createFile(atPath: endpoint.path, contents: Data("stale".utf8))
        let router = try ZMQSocket(type: .router)
        defer { router.close() }
        try router.bind(endpoint.url)
    }

    @Test func wakeupPipeWakesPoller() throws {
        let pipe = WakeupPipe()
        #expect(try ZMQPoller.pollIn([.fd(pipe.readEnd)], timeoutMillis: 0) == [false])
        pipe.wake()
        pipe.wake()
        #expect(try ZMQPoller.pollIn([.fd(pipe.readEnd)], timeoutMillis: 1000) == [true])
        pipe.drain()
        #expect(try ZMQPoller.pollIn([.fd(pipe.readEnd)], timeoutMillis: 0) == [false])
    }

    // MARK: RPC

    /// With ZMQ_IMMEDIATE a request sent before the connection is up fails at once, so wait
    /// for the first successful call.
    func waitUntilConnected(_ client: RPCClient) async throws {
        let deadline = Date().addingTimeInterval(2)
        while Date() < deadline {
            if (try? await client.call(RPCRequest(header: ["op": "ping"], body: Array("{}".utf8)), timeoutMillis: 500)) != nil { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("client never connected")
    }

    /// A started server with `handler` and a client connected to it, both stopped after `body`.
    func withRPC<T>(service: String, timeoutMillis: Int, handler: @escaping RPCServer.Handler,
                    _ body: (RPCServer, RPCClient) async throws -> T) async throws -> T {
        let endpoint = IPCEndpoint()
        defer { endpoint.remove() }
        let server = RPCServer(endpoint: endpoint.url, logger: Self.logger, handler: handler)
        try server.start()
        defer { server.stop() }
        let client = RPCClient(serviceName: service, endpoint: endpoint.url, timeoutMillis: timeoutMillis, logger: Self.logger)
        try client.start()
        defer { client.stop() }
        try await waitUntilConnected(client)
        return try await body(server, client)
    }

    @Test func manyConcurrentCallsEachGetTheirOwnReply() async throws {
        let endpoint = IPCEndpoint()
        defer { endpoint.remove() }
        let server = RPCServer(endpoint: endpoint.url, logger: Self.logger) { request, respond in
            // Reply out of order, from other threads.
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int.random(in: 0...20))) {
                respond(RPCReply(status: 200, body: request.body))
            }
        }
        try server.start()
        defer { server.stop() }
        let client = RPCClient(serviceName: "echo", endpoint: endpoint.url, timeoutMillis: 5000, logger: Self.logger)
        try client.start()
        defer { client.stop() }
        try await waitUntilConnected(client)

        let replies = try await withThrowingTaskGroup(of: (Int, RPCReply).self) { group in
            for i in 0..<200 {
                group.addTask {
                    let body: JSON = ["n": JSON(i), "text": .string("request \(i)")]
                    return (i, try await client.call(RPCRequest(header: ["op": "echo", "user": "u"], body: body.serialized())))
                }
            }
            var out: [Int: RPCReply] = [:]
            for try await (i, reply) in group { out[i] = reply }
            return out
        }
        #expect(replies.count == 200)
        for (i, reply) in replies {
            #expect(reply.status == 200)
            #expect(try reply.json() == ["n": JSON(i), "text": .string("request \(i)")])
        }
    }

    @Test func headerAndStatusTravel() async throws {
        let endpoint = IPCEndpoint()
        defer { endpoint.remove() }
        let server = RPCServer(endpoint: endpoint.url, logger: Self.logger) { request, respond in
            switch request.operation {
            case "whoami": respond(RPCReply(json: ["user": request.user.map(JSON.string) ?? nil, "op": .string(request.operation)]))
            case "ping": respond(RPCReply(json: [:]))
            default: respond(RPCReply(error: .notFound("no op '\(request.operation)'")))
            }
        }
        try server.start()
        defer { server.stop() }
        let client = RPCClient(serviceName: "store", endpoint: endpoint.url, timeoutMillis: 5000, logger: Self.logger)
        try client.start()
        defer { client.stop() }
        try await waitUntilConnected(client)

        #expect(try await client.call(op: "whoami", user: "admin", body: [:]) == ["user": "admin", "op": "whoami"])
        do {
            _ = try await client.call(op: "nope", body: [:])
            Issue.record("expected an error")
        } catch {
            #expect(error == SkeinError(status: 404, "no op 'nope'"))
        }
        // The blocking variant, for non-async callers.
        let reply = try client.callBlocking(RPCRequest(header: ["op": "whoami"], body: []))
        #expect(reply.status == 200)
        #expect(try reply.result() == ["user": nil, "op": "whoami"])
    }

    /// A handler that answers on the socket's own thread (the store's point reads) needs no
    /// wake-up: the loop sends the reply before it polls again. The client's 400 ms timeout is
    /// below the loop's 1 s poll: a reply left for a wake-up or the poll's end would come too
    /// late, and the call would fail 504. Answers from other threads still get theirs.
    @Test func anAnswerGivenOnTheSocketThreadLeavesBeforeTheNextPoll() async throws {
        let threads = Locked<Set<UInt>>([])
        try await withRPC(service: "store", timeoutMillis: 400, handler: { request, respond in
            if request.operation == "later" {
                DispatchQueue.global().async { respond(RPCReply(json: ["when": "later"])) }
            } else {
                threads.update { $0.insert(UInt(pthread_self())) }
                respond(RPCReply(json: ["when": "now"]))
            }
        }) { _, client in
            for i in 0..<30 {
                let op = i % 3 == 2 ? "later" : "now"
                let answer = try await client.call(op: op, body: [:])
                #expect(answer == ["when": .string(op)])
            }
        }
        #expect(threads.get().count == 1)
    }

    @Test func callWithoutServerFailsFast() async throws {
        let endpoint = IPCEndpoint()
        defer { endpoint.remove() }
        // A 10-minute timeout: if the call waited for it instead of failing fast, the suite's
        // time limit would fail the test (no wall-clock assertion on a noisy machine).
        let client = RPCClient(serviceName: "store", endpoint: endpoint.url, timeoutMillis: 600_000, logger: Self.logger)
        try client.start()
        defer { client.stop() }
        do {
            _ = try await client.call(op: "ping", body: [:])
            Issue.record("expected 503")
        } catch {
            #expect(error.status == 503)
            #expect(error.message == "store unavailable")
        }
    }

    /// Sent and not answered in time: 504, the outcome unknown (it may have been applied).
    @Test func unansweredCallTimesOutWith504() async throws {
        let seen = Locked(0)
        try await withRPC(service: "auditd", timeoutMillis: 200, handler: { request, respond in
            if request.operation == "ping" { respond(RPCReply(json: [:])) } else { seen.update { $0 += 1 } } // never answers
        }) { _, client in
            let started = Date()
            do {
                _ = try await client.call(op: "slow", body: [:])
                Issue.record("expected a timeout")
            } catch let error as SkeinError {
                #expect(error == SkeinError(status: 504, "auditd did not answer within 200 ms (services.timeoutMs): the outcome is unknown"))
            }
            #expect(Date().timeIntervalSince(started) >= 0.19)  // not before its timeout
        }
        #expect(seen.get() == 1)
    }

    /// A stopping service answers what it will not handle with 503: provably not applied.
    @Test func aServerRefusingNewRequestsAnswers503WithoutHandlingThem() async throws {
        let handled = Locked(0)
        try await withRPC(service: "store", timeoutMillis: 5000, handler: { request, respond in
            if request.operation != "ping" { handled.update { $0 += 1 } }
            respond(RPCReply(json: [:]))
        }) { server, client in
            server.refuseNew(service: "store")
            do {
                _ = try await client.call(op: "insert", body: [:])
                Issue.record("expected 503")
            } catch let error as SkeinError {
                #expect(error == SkeinError(status: 503, "store is shutting down"))
            }
        }
        #expect(handled.get() == 0)
    }

    @Test func stoppingTheClientFailsPendingCalls() async throws {
        let endpoint = IPCEndpoint()
        defer { endpoint.remove() }
        let arrived = Locked(false)
        let server = RPCServer(endpoint: endpoint.url, logger: Self.logger) { request, respond in
            if request.operation == "ping" { respond(RPCReply(json: [:])) } else { arrived.update { $0 = true } }
        }
        try server.start()
        defer { server.stop() }
        let client = RPCClient(serviceName: "store", endpoint: endpoint.url, timeoutMillis: 600_000, logger: Self.logger)
        try client.start()
        try await waitUntilConnected(client)
        let pending = Task { () async -> SkeinError? in
            do { _ = try await client.call(op: "hang", body: [:]); return nil } catch let e as SkeinError { return e } catch { return nil }
        }
        // Stopped once the request reached the server (not after a fixed sleep, which a busy
        // machine can outlast before the request is even sent).
        while !arrived.get() { try await Task.sleep(for: .milliseconds(5)) }
        client.stop()
        #expect(await pending.value?.status == 504, "it was sent: its outcome is unknown")
        // Calls after stop fail at once.
        await #expect(throws: SkeinError.self) { try await client.call(op: "ping", body: [:]) }
    }

    @Test func replyResultParsing() throws {
        #expect(try RPCReply(json: ["a": 1]).result() == ["a": 1])
        #expect(throws: SkeinError(status: 409, "conflict")) { try RPCReply(status: 409, json: ["error": "conflict"]).result() }
        #expect(throws: SkeinError(status: 502, "error 502")) { try RPCReply(status: 502, json: [:]).result() }
        #expect((try? RPCReply(status: 200, body: Array("{oops".utf8)).result()) == nil)
        #expect(RPCReply(error: .forbidden("no")).status == 403)
        #expect(try JSON.parse(RPCReply(status: 201, body: []).header) == ["status": 201])
        #expect(try JSON.parse(RPCReply(status: 200, body: [], more: "t").header) == ["status": 200, "more": "t"])
    }

    // MARK: Notices

    /// Publishes a notice on `endpoint` until a subscriber has it (3 s at most); the first received.
    func firstNotice(_ endpoint: String, curve: CurveKeys? = nil) async throws -> (String, JSON)? {
        let publisher = try NoticePublisher(endpoint: endpoint, curve: curve, logger: Self.logger)
        defer { publisher.close() }
        let received = Locked<[(String, JSON)]>([])
        let subscriber = NoticeSubscriber(endpoint: endpoint, curve: curve) { database, notice in
            received.update { $0.append((database, notice)) }
        }
        try subscriber.start()
        defer { subscriber.stop() }
        // PUB/SUB drops messages until the subscription has reached the publisher.
        let deadline = Date().addingTimeInterval(3)
        while received.get().isEmpty && Date() < deadline {
            publisher.publish(database: "dogs", notice: ["database": "dogs", "seq": 7])
            try await Task.sleep(for: .milliseconds(20))
        }
        return received.get().first
    }

    @Test func noticesAreDelivered() async throws {
        let endpoint = IPCEndpoint()
        defer { endpoint.remove() }
        let first = try #require(try await firstNotice(endpoint.url))
        #expect(first.0 == "dogs")
        #expect(first.1 == ["database": "dogs", "seq": 7])
    }
}
