import Foundation
import Logging
import SkeinPeerNet

/// A `PeerServer` running in a task for the length of `body`, which gets its port (bound
/// from port 0). The server is cancelled afterwards; a bind failure is thrown.
func withPeerServer(_ server: PeerServer, accept: @escaping @Sendable (String) -> Bool = { _ in true },
                    handler: @escaping @Sendable (PeerSocket, String) async -> Void,
                    _ body: (Int) async throws -> Void) async throws {
    let (ports, listening) = AsyncStream.makeStream(of: Int.self)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
            defer { listening.finish() }
            try await server.run(accept: accept, onListening: { listening.yield($0) }, handler: handler)
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else {
            try await group.waitForAll()
            throw PeerNetTestError("the server stopped before listening")
        }
        do {
            try await body(port)
        } catch {
            group.cancelAll()
            throw error
        }
        group.cancelAll()
    }
}

/// The result of `body`, or a failure when it takes longer than `seconds`: a hang is a
/// failed test, not a stuck run.
func within<T: Sendable>(_ seconds: Double, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: WithinOutcome<T>.self) { group in
        group.addTask { .done(try await body()) }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return .timedOut
        }
        defer { group.cancelAll() }
        guard case .done(let value) = try await group.next()! else { throw PeerNetTestError("\(what): no result within \(seconds) s") }
        return value
    }
}

private enum WithinOutcome<T: Sendable>: Sendable {
    case done(T)
    case timedOut
}

/// Messages passed from server handlers to the test, awaited with a bound.
final class PeerNetInbox<Value: Sendable>: Sendable {
    private let stream: AsyncStream<Value>
    private let continuation: AsyncStream<Value>.Continuation

    init() {
        (stream, continuation) = AsyncStream.makeStream(of: Value.self)
    }

    func put(_ value: Value) { continuation.yield(value) }

    /// The next value put, waiting at most `seconds` (one reader at a time).
    func next(within seconds: Double = 10) async throws -> Value {
        let stream = self.stream
        return try await SkeinUnitTests.within(seconds, "a message from the server handler") {
            var iterator = stream.makeAsyncIterator()
            guard let value = await iterator.next() else { throw PeerNetTestError("the inbox was closed") }
            return value
        }
    }
}

struct PeerNetTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Log records kept for assertions (the server's "refused replication connection").
final class CapturedLogs: Sendable {
    struct Record: Sendable {
        let level: Logger.Level
        let message: String
        let metadata: Logger.Metadata
    }

    let records = Locked<[Record]>([])

    var logger: Logger {
        Logger(label: "skein.peernet-tests") { _ in Handler(logs: self) }
    }

    private struct Handler: LogHandler {
        let logs: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let record = Record(level: event.level, message: event.message.description, metadata: metadata.merging(event.metadata ?? [:]) { $1 })
            logs.records.update { $0.append(record) }
        }
    }
}
