import Foundation
import SkeinCore
import Testing

extension ProcessTests {
    /// A node started with umask 000 still keeps its data, sockets' directory and logs to
    /// the service user: files 0600, directories 0700 (the LMDB files hold bcrypt hashes).
    @Suite struct FileModes {
        @Test func aNodeStartedWithUmask000KeepsItsFilesPrivate() async throws {
            let node = try await TestNode.start(umask: "000")
            do { try await Self.check(node) } catch {
                await node.shutdown()
                throw error
            }
            await node.shutdown()
        }

        static func check(_ node: TestNode) async throws {
            for service in [Service.store, .auditd, .gateway] {
                let pid = try #require(node.pid(service))
                let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
                #expect(status.contains("Umask:\t0000"), "\(service) runs with umask 000")
            }
            try await node.freshTable("modes", "t")
            _ = try await node.insert("modes", "t", [["id": 1, "secret": "x"]])
            try await node.ok(["operation": "add_user", "username": "moder", "password": "pw-moder", "role": "super_user", "active": true])
            var checked = 0
            for dir in ["database", "run", "log"] {
                let base = "\(node.root)/\(dir)"
                #expect(try Self.mode(base) == 0o700, "\(base)")
                let walker = FileManager.default.enumerator(atPath: base)
                while let relative = walker?.nextObject() as? String {
                    let path = "\(base)/\(relative)"
                    let attributes = try FileManager.default.attributesOfItem(atPath: path)
                    let type = attributes[.type] as? FileAttributeType
                    let mode = try Self.mode(path)
                    switch type {
                    case .typeDirectory?: #expect(mode == 0o700, "\(path) is \(String(mode, radix: 8))")
                    case .typeRegular?: #expect(mode == 0o600, "\(path) is \(String(mode, radix: 8))")
                    default: continue  // ipc sockets: their directory is 0700
                    }
                    checked += 1
                }
            }
            #expect(checked >= 8, "LMDB files, log files and their directories were looked at")
        }

        static func mode(_ path: String) throws -> Int {
            ((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1) & 0o777
        }
    }
}
