import Foundation
import SkeinLMDB
import SkeinCore

/// A fresh directory under the system temp dir, removed when `body` returns.
func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("skein-ut-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

/// A unique ipc endpoint in /tmp (ipc paths are limited to 107 bytes, so no deep dirs).
/// Call `remove()` in a `defer` placed before the sockets' own cleanup.
struct IPCEndpoint {
    let path = "/tmp/skein-ut-\(UUID().uuidString).sock"
    var url: String { "ipc://" + path }
    func remove() { unlink(path) }
}

/// Byte-wise lexicographic comparison (LMDB's default key order).
func bytesPrecede(_ a: [UInt8], _ b: [UInt8]) -> Bool { a.lexicographicallyPrecedes(b) }

/// Whether a named database exists on disk (asked through LMDB, not the handle cache).
func namedDatabaseExists(_ env: LMDBEnvironment, _ name: String) throws -> Bool {
    try env.write { try $0.database(name) != nil }
}

/// Runs blocking work (polls, sleeps, blocking reads) on a thread of its own: blocking one of
/// the few threads Swift concurrency runs all tests on would starve the suite's other tests.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}

/// The two ways services call each other (docs/INTERFACES.md §5): a Unix stream socket on
/// `ipc://`, ZeroMQ with CURVE on `tcp://`. RPC tests run on both.
enum RPCTransportKind: String, CaseIterable, Sendable {
    case unixSocket, zeroMQ
}

/// A fresh endpoint of `kind`, with the node keypair a `tcp://` one needs.
struct RPCEndpoint {
    let url: String
    let keys: CurveKeys?
    private let ipc: IPCEndpoint?

    init(_ kind: RPCTransportKind) throws {
        switch kind {
        case .unixSocket:
            let e = IPCEndpoint()
            (url, keys, ipc) = (e.url, nil, e)
        case .zeroMQ:
            (url, keys, ipc) = (TCPEndpoint().url, try ZMQTests.newKeys(), nil)
        }
    }

    func remove() { ipc?.remove() }
}

/// A `tcp://` endpoint on loopback at a port the kernel just handed out (free now; the
/// test binds it right away).
struct TCPEndpoint {
    let port: Int = {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }()
    var url: String { "tcp://127.0.0.1:\(port)" }
}
