import Foundation
import SkeinCore
import Testing

extension ProcessTests {
    /// `tcp://` service endpoints with the node's CURVE keypair (docs/INTERFACES.md §2, §5).
    /// Without keys a service refuses to start: `Configuration` (exit 2 naming the key).
    @Suite struct CurveEndpoints {
        /// A keypair from `skein-store --generate-curve-keys`, as it prints it.
        static func generatedKeys() throws -> (output: String, publicKey: String, secretKey: String) {
            let (status, output) = try runTool("\(TestNode.binDir)/skein-store", ["--generate-curve-keys"])
            try #require(status == 0, "--generate-curve-keys exited \(status)")
            func value(_ name: String) throws -> String {
                let line = try #require(output.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix(name + ": ") })
                return String(line.split(separator: "\"")[1])
            }
            return (output, try value("publicKey"), try value("secretKey"))
        }

        @Test func aNodeOnTCPEndpointsWithItsKeysWorksEndToEnd() async throws {
            let keys = try Self.generatedKeys()
            #expect(keys.publicKey.count == 40 && keys.secretKey.count == 40 && keys.publicKey != keys.secretKey)
            var config = ["services.curve.publicKey": keys.publicKey, "services.curve.secretKey": keys.secretKey]
            for key in ["store", "storeNotices", "auditd", "replicator"] {
                config["services." + key] = "tcp://127.0.0.1:\(TestNode.freePort())"
            }
            try await withNode(config: config) { node in
                try await node.freshTable("curve", "dog")
                _ = try await node.insert("curve", "dog", [["id": 1, "name": "Rex"], ["id": 2, "name": "Fido"]])
                let found = try await node.ok(["operation": "search_by_value", "database": "curve", "table": "dog",
                                               "attribute": "name", "value": "Rex", "get_attributes": ["*"]])
                #expect(found.column("id") == [1])
                // auditd answers over tcp:// too.
                let log = try await node.auditLog("curve", "dog")
                let operations = log.compactMap { $0["operation"]?.stringValue }
                #expect(operations.contains("insert"), "\(log)")
                // Nothing listens on ipc:// (the endpoints moved), and --health speaks CURVE.
                #expect(!FileManager.default.fileExists(atPath: node.root + "/run/store.sock"))
                let health = try runTool("\(TestNode.binDir)/skein-store", ["--health", "--config", node.configPath])
                #expect(health.status == 0, "\(health.output)")
                // The ZAP handler's socket closes with the context: the store still stops cleanly.
                #expect(await node.stop(.store) == 0)
            }
        }
    }
}
