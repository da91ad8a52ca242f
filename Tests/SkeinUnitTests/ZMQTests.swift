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
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if (try? await client.call(RPCRequest(header: ["op": "ping"], body: Array("{}".utf8)), timeoutMillis: 500)) != nil { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("client never connected")
    }

    /// A started server with `handler` and a client connected to it, both stopped after `body`.
    func withRPC<T>(_ kind: RPCTransportKind, service: String, timeoutMillis: Int, handler: @escaping RPCServer.Handler,
                    _ body: (RPCServer, RPCClient) async throws -> T) async throws -> T {
        let endpoint = try RPCEndpoint(kind)
        defer { endpoint.remove() }
        let server = RPCServer(endpoint: endpoint.url, curve: endpoint.keys, logger: Self.logger, handler: handler)
        try server.start()
        defer { server.stop() }
        let client = RPCClient(serviceName: service, endpoint: endpoint.url, curve: endpoint.keys, timeoutMillis: timeoutMillis, logger: Self.logger)
        try client.start()
        defer { client.stop() }
        try await waitUntilConnected(client)
        return try await body(server, client)
    }

    @Test(arguments: RPCTransportKind.allCases)
    func manyConcurrentCallsEachGetTheirOwnReply(_ kind: RPCTransportKind) async throws {
        let endpoint = try RPCEndpoint(kind)
        defer { endpoint.remove() }
        let server = RPCServer(endpoint: endpoint.url, curve: endpoint.keys, logger: Self.logger) { request, respond in
            // Reply out of order, from other threads.
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int.random(in: 0...20))) {
                respond(RPCReply(status: 200, body: request.body))
            }
        }
        try server.start()
        defer { server.stop() }
        let client = RPCClient(serviceName: "echo", endpoint: endpoint.url, curve: endpoint.keys, timeoutMillis: 5000, logger: Self.logger)
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

    @Test(arguments: RPCTransportKind.allCases)
    func headerAndStatusTravel(_ kind: RPCTransportKind) async throws {
        let endpoint = try RPCEndpoint(kind)
        defer { endpoint.remove() }
        let server = RPCServer(endpoint: endpoint.url, curve: endpoint.keys, logger: Self.logger) { request, respond in
            switch request.operation {
            case "whoami": respond(RPCReply(json: ["user": request.user.map(JSON.string) ?? nil, "op": .string(request.operation)]))
            case "ping": respond(RPCReply(json: [:]))
            default: respond(RPCReply(error: .notFound("no op '\(request.operation)'")))
            }
        }
        try server.start()
        defer { server.stop() }
        let client = RPCClient(serviceName: "store", endpoint: endpoint.url, curve: endpoint.keys, timeoutMillis: 5000, logger: Self.logger)
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
    @Test(arguments: RPCTransportKind.allCases)
    func anAnswerGivenOnTheSocketThreadLeavesBeforeTheNextPoll(_ kind: RPCTransportKind) async throws {
        let threads = Locked<Set<UInt>>([])
        try await withRPC(kind, service: "store", timeoutMillis: 400, handler: { request, respond in
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

    @Test(arguments: RPCTransportKind.allCases)
    func callWithoutServerFailsFast(_ kind: RPCTransportKind) async throws {
        let endpoint = try RPCEndpoint(kind)
        defer { endpoint.remove() }
        // A 10-minute timeout: if the call waited for it instead of failing fast, the suite's
        // time limit would fail the test (no wall-clock assertion on a noisy machine).
        let client = RPCClient(serviceName: "store", endpoint: endpoint.url, curve: endpoint.keys, timeoutMillis: 600_000, logger: Self.logger)
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
    @Test(arguments: RPCTransportKind.allCases)
    func unansweredCallTimesOutWith504(_ kind: RPCTransportKind) async throws {
        let seen = Locked(0)
        try await withRPC(kind, service: "auditd", timeoutMillis: 200, handler: { request, respond in
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
    @Test(arguments: RPCTransportKind.allCases)
    func aServerRefusingNewRequestsAnswers503WithoutHandlingThem(_ kind: RPCTransportKind) async throws {
        let handled = Locked(0)
        try await withRPC(kind, service: "store", timeoutMillis: 5000, handler: { request, respond in
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

    @Test(arguments: RPCTransportKind.allCases)
    func stoppingTheClientFailsPendingCalls(_ kind: RPCTransportKind) async throws {
        let endpoint = try RPCEndpoint(kind)
        defer { endpoint.remove() }
        let arrived = Locked(false)
        let server = RPCServer(endpoint: endpoint.url, curve: endpoint.keys, logger: Self.logger) { request, respond in
            if request.operation == "ping" { respond(RPCReply(json: [:])) } else { arrived.update { $0 = true } }
        }
        try server.start()
        defer { server.stop() }
        let client = RPCClient(serviceName: "store", endpoint: endpoint.url, curve: endpoint.keys, timeoutMillis: 600_000, logger: Self.logger)
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

    /// Requests and replies far larger than a socket's kernel buffer go through whole, in
    /// order, while other calls share the connection (the part the kernel does not take at
    /// once waits for the transport's thread).
    @Test(arguments: RPCTransportKind.allCases)
    func largeRequestsAndRepliesArriveWhole(_ kind: RPCTransportKind) async throws {
        try await withRPC(kind, service: "store", timeoutMillis: 20_000, handler: { request, respond in
            DispatchQueue.global().async { respond(RPCReply(status: 200, body: request.body)) }
        }) { _, client in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<6 {
                    group.addTask {
                        // 3 MiB: many times the kernel's socket buffer (net.core.wmem_max).
                        let pattern = (0..<251).map { UInt8(truncatingIfNeeded: $0 &+ i) }
                        let body = i % 2 == 0 ? Array(Array(repeating: pattern, count: 12_600).joined()) : pattern
                        let reply = try await client.call(RPCRequest(header: ["op": "echo"], body: body))
                        #expect(reply.status == 200)
                        #expect(reply.body == body, "request \(i): \(reply.body.count) bytes back")
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    /// A service that restarts is called again once it is back, without restarting its
    /// callers: the client reconnects by itself, and meanwhile a call fails 503.
    @Test(arguments: RPCTransportKind.allCases)
    func aClientReconnectsToARestartedServer(_ kind: RPCTransportKind) async throws {
        let endpoint = try RPCEndpoint(kind)
        defer { endpoint.remove() }
        func server(_ generation: Int) -> RPCServer {
            RPCServer(endpoint: endpoint.url, curve: endpoint.keys, logger: Self.logger) { _, respond in
                respond(RPCReply(json: ["generation": JSON(generation)]))
            }
        }
        let first = server(1)
        try first.start()
        let client = RPCClient(serviceName: "store", endpoint: endpoint.url, curve: endpoint.keys, timeoutMillis: 5000, logger: Self.logger)
        try client.start()
        defer { client.stop() }
        try await waitUntilConnected(client)
        #expect(try await client.call(op: "who", body: [:]) == ["generation": 1])
        first.stop()
        if kind == .unixSocket {
            // (ZeroMQ may queue it to the old connection before it sees it end: 504 then.)
            await #expect(throws: SkeinError(status: 503, "store unavailable")) { try await client.call(op: "who", body: [:]) }
        }
        let second = server(2)
        // ZeroMQ may hold the old listener's port a little while after a close (its linger).
        let bindBy = Date().addingTimeInterval(10)
        while true {
            do { try second.start(); break } catch where Date() < bindBy { try await Task.sleep(for: .milliseconds(50)) }
        }
        defer { second.stop() }
        try await waitUntilConnected(client)
        #expect(try await client.call(op: "who", body: [:]) == ["generation": 2])
    }

    /// The byte stream's framing: a message read in pieces comes out whole, several in one
    /// read come out one by one, and a length that cannot be a message is refused.
    @Test func framesSurviveAnyReadBoundary() throws {
        let messages: [[[UInt8]]] = [[[1, 2, 3], [], Array("header".utf8)], [[]], [Array(repeating: 7, count: 70_000)], []]
        let stream = messages.flatMap(FrameCodec.encode)
        for step in [1, 3, 4096, stream.count] {
            var reader = FrameCodec.Reader()
            var out: [[[UInt8]]] = []
            var at = 0
            while at < stream.count {
                let end = min(stream.count, at + step)
                stream[at..<end].withUnsafeBytes { reader.append($0) }
                at = end
                while let message = try reader.next() { out.append(message) }
            }
            #expect(out == messages, "read \(step) bytes at a time")
        }
        var corrupt = FrameCodec.Reader()
        let huge: [UInt8] = [0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0]
        huge.withUnsafeBytes { corrupt.append($0) }
        #expect(throws: FrameCodec.Malformed.self) { try corrupt.next() }
        var short = FrameCodec.Reader()
        // Says one frame of 9 bytes in a message of 8 bytes.
        let lying: [UInt8] = [8, 0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0]
        lying.withUnsafeBytes { short.append($0) }
        #expect(throws: FrameCodec.Malformed.self) { try short.next() }
    }

    /// A peer that sends something that is not a message is disconnected; the server goes
    /// on answering everyone else.
    @Test func aMalformedStreamIsCutOffAndOthersAreStillServed() async throws {
        try await withRPC(.unixSocket, service: "store", timeoutMillis: 5000, handler: { _, respond in
            respond(RPCReply(json: ["ok": true]))
        }) { server, client in
            let path = try #require(UnixSocket.path(of: server.endpoint))
            let fd = try #require(UnixSocket.connect(path))
            defer { close(fd) }
            let garbage: [UInt8] = [0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]
            _ = garbage.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            // The server closes it: a blocking read sees the end of the stream.
            let read = try await onOwnThread { () -> Int in
                var flags = fcntl(fd, F_GETFL)
                flags &= ~O_NONBLOCK
                _ = fcntl(fd, F_SETFL, flags)
                var timeout = timeval(tv_sec: 10, tv_usec: 0)
                _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                var byte: UInt8 = 0
                return recv(fd, &byte, 1, 0)
            }
            #expect(read == 0, "the connection was closed")
            #expect(try await client.call(op: "ping", body: [:]) == ["ok": true])
        }
    }

    /// A service that dies with a request of ours in hand (here a socket that reads the
    /// request and closes): the caller gets 504, its outcome unknown, when the connection
    /// closes, not at its deadline (20 s here; before, the store's callers waited that long).
    @Test func aRequestWhoseConnectionClosesIs504AtOnce() async throws {
        let endpoint = IPCEndpoint()
        defer { endpoint.remove() }
        let path = try #require(UnixSocket.path(of: endpoint.url))
        let listener = try UnixSocket.listen(path)
        defer { close(listener) }
        let client = RPCClient(serviceName: "store", endpoint: endpoint.url, timeoutMillis: 20_000, logger: Self.logger)
        try client.start()
        defer { client.stop() }
        // The "service": takes the connection, reads until the request is in, closes.
        let served = Task {
            try await onOwnThread { () -> Int in
                var flags = fcntl(listener, F_GETFL)
                flags &= ~O_NONBLOCK
                _ = fcntl(listener, F_SETFL, flags)
                guard let fd = UnixSocket.accept(listener) else { return -1 }
                flags = fcntl(fd, F_GETFL)
                _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)
                var buffer = [UInt8](repeating: 0, count: 4096)
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                close(fd)
                return n
            }
        }
        var failure: SkeinError?
        do {
            _ = try await client.call(op: "ping", body: [:])
        } catch {
            failure = error
        }
        #expect(try await served.value > 0, "the request reached the service")
        #expect(failure?.status == 504, "\(String(describing: failure))")
        #expect(failure?.message.contains("closed before its answer") == true, "\(String(describing: failure))")
    }

    // MARK: Notices

    /// Publishes a notice on `endpoint` until a subscriber has it (10 s at most: a CURVE
    /// handshake beside the suite's other tests can take seconds); the first received.
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
        let deadline = Date().addingTimeInterval(10)
        while received.get().isEmpty && Date() < deadline {
            publisher.publish(database: "dogs", notice: ["database": "dogs", "seq": 7])
            try await Task.sleep(for: .milliseconds(20))
        }
        return received.get().first
    }

    /// A subscriber that reads nothing does not hold the publisher up: past its bound it
    /// loses whole messages (the publisher never blocks), the stream stays whole, and it
    /// gets what is published after it caught up. What the store's writer relies on.
    @Test func aSubscriberThatFallsBehindLosesMessagesNotTheStream() async throws {
        let seen = try await onOwnThread { try subscriberFallsBehind() }
        #expect(seen.first == [Array("hello".utf8)])
        #expect(seen.whole, "every message arrived whole")
        #expect(seen.numbers.count < 200, "a subscriber that read nothing lost messages past its bound")
        #expect(seen.numbers.count >= 10, "what fit in its bound arrived")
        #expect(seen.numbers == seen.numbers.sorted(), "in order")
        #expect(seen.after, "what was published after it caught up arrived")
    }

    /// What `aSubscriberThatFallsBehindLosesMessagesNotTheStream` saw (its blocking part, on a
    /// thread of its own; the expectations stay in the test).
    func subscriberFallsBehind() throws -> (first: [[UInt8]]?, numbers: [UInt64], whole: Bool, after: Bool) {
        let endpoint = IPCEndpoint()
        defer { endpoint.remove() }
        let publisher = try UnixPublisher(path: endpoint.path, maxQueuedBytes: 1 << 20)
        defer { publisher.close() }
        guard let fd = UnixSocket.connect(endpoint.path) else { return (nil, [], false, false) }
        defer { close(fd) }
        // The publisher takes a subscriber on its own thread: publish until one is there.
        let reader = FramedConnection(fd: fd)
        var seen: [[[UInt8]]] = []
        let deadline = Date().addingTimeInterval(10)
        while seen.isEmpty, Date() < deadline {
            publisher.publish([Array("hello".utf8)])
            usleep(10_000)
            seen = reader.receive() ?? []
        }
        let payload = [UInt8](repeating: 0xab, count: 100_000)
        for i in 0..<200 { publisher.publish([KeyCodec.encodeUInt64(UInt64(i)), payload]) }
        var numbers: [UInt64] = []
        var whole = true
        var after = false
        let until = Date().addingTimeInterval(10)
        while !after, Date() < until {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, 200) == 0 {
                // Caught up: nothing more is on its way.
                publisher.publish([Array("after".utf8)])
                continue
            }
            for message in reader.receive() ?? [] {
                if message == [Array("after".utf8)] { after = true; continue }
                guard message.count == 2, message[0].count == 8, message[1] == payload else {
                    whole = false
                    continue
                }
                numbers.append(KeyCodec.decodeUInt64(message[0]))
            }
        }
        return (seen.first, numbers, whole, after)
    }

    @Test func noticesAreDelivered() async throws {
        let endpoint = IPCEndpoint()
        defer { endpoint.remove() }
        let first = try #require(try await firstNotice(endpoint.url))
        #expect(first.0 == "dogs")
        #expect(first.1 == ["database": "dogs", "seq": 7])
    }
}
