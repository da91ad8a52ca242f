import Foundation
import Testing
import SkeinCore
import SkeinLMDB
@testable import SkeinStorage
import SkeinService
import SkeinZMQ

/// A node's data is private to the service user whatever the umask: LMDB files 0600, their
/// directories 0700 (issue: LMDB files were created 0644, bcrypt hashes readable by anyone).
@Suite("File modes")
struct FileModeTests {
    static func mode(_ path: String) throws -> Int {
        try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    @Test func dataFilesArePrivateWhateverTheUmask() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("skein-modes-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let old = umask(0)
        let registry: DatabaseRegistry
        do {
            defer { umask(old) }
            registry = try DatabaseRegistry(dataDir: root + "/database", mapSize: 1 << 26)
            _ = try registry.create("data")
        }
        defer { registry.closeAll() }
        #expect(try Self.mode(root + "/database") == 0o700)
        for dir in ["data", "data/indexes"] {
            #expect(try Self.mode(root + "/database/" + dir) == 0o700, "\(dir)")
            for file in ["data.mdb", "lock.mdb"] {
                #expect(try Self.mode(root + "/database/" + dir + "/" + file) == 0o600, "\(dir)/\(file)")
            }
        }
    }

    @Test func filesOfAnOlderVersionAreMadePrivateWhenOpened() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("skein-modes-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let first = try DatabaseRegistry(dataDir: root + "/database", mapSize: 1 << 26)
        _ = try first.create("data")
        first.closeAll()
        chmod(root + "/database/data/data.mdb", 0o644)
        chmod(root + "/database/data", 0o755)
        let again = try DatabaseRegistry(dataDir: root + "/database", mapSize: 1 << 26)
        defer { again.closeAll() }
        _ = try again.database("data")
        #expect(try Self.mode(root + "/database/data/data.mdb") == 0o600)
        #expect(try Self.mode(root + "/database/data") == 0o700)
    }

    @Test func logAndRunDirectoriesArePrivateWhateverTheUmask() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("skein-modes-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let old = umask(0)
        do {
            defer { umask(old) }
            _ = LogSink(path: root + "/log/store.log")
            let socket = try ZMQSocket(type: .router)
            try socket.bind("ipc://" + root + "/run/store.sock")
            socket.close()
        }
        #expect(try Self.mode(root + "/log") == 0o700)
        #expect(try Self.mode(root + "/log/store.log") == 0o600)
        #expect(try Self.mode(root + "/run") == 0o700)
    }

    /// A socket or log put straight into a shared directory (sticky bit, like /tmp) leaves
    /// that directory as it was: the unit tests' ipc sockets in /tmp once made /tmp 0700.
    @Test func sharedDirectoriesStayShared() throws {
        let shared = FileManager.default.temporaryDirectory.appendingPathComponent("skein-shared-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: shared) }
        chmod(shared, 0o1777)
        _ = LogSink(path: shared + "/store.log")
        let socket = try ZMQSocket(type: .router)
        try socket.bind("ipc://" + shared + "/store.sock")
        socket.close()
        var st = stat()
        #expect(stat(shared, &st) == 0 && st.st_mode & 0o7777 == 0o1777)
        #expect(try Self.mode(shared + "/store.log") == 0o600)
    }
}
