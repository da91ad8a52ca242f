import Foundation
import SkeinLMDB

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
