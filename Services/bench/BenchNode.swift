import Foundation

/// A throwaway node (store, auditd, gateway as real processes) in a temp directory.
final class BenchNode {
    let root: String
    let port: Int
    let password = "bench-password"
    var processes: [String: Process] = [:]
    let binDir: String

    init(port: Int) throws {
        root = "/tmp/skbench-\(UUID().uuidString.prefix(8))"
        self.port = port
        binDir = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let yaml = """
            rootPath: \(root)
            operationsApi:
              network:
                host: 127.0.0.1
                port: \(port)
                maxBodySize: 64M
            replication:
              hostname: bench
            logging:
              level: warn
            admin:
              username: admin
              password: \(password)
            """
        try yaml.write(toFile: root + "/config.yaml", atomically: true, encoding: .utf8)
        for service in ["store", "auditd", "gateway"] { try start(service) }
    }

    var storeEndpoint: String { "ipc://\(root)/run/store.sock" }

    func start(_ service: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "\(binDir)/skein-\(service)")
        p.arguments = ["--config", root + "/config.yaml"]
        let out = FileHandle(forWritingAtPath: "/dev/null")
        p.standardOutput = out
        p.standardError = out
        try p.run()
        processes[service] = p
    }

    /// Waits until the gateway answers /health with 200 (bounded).
    func waitHealthy() throws {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let client = try? HTTPLoadClient(host: "127.0.0.1", port: port) {
                var req = Array("GET /health HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
                _ = req.withUnsafeMutableBytes { send(client.fd, $0.baseAddress, $0.count, 0) }
                var buf = [UInt8](repeating: 0, count: 4096)
                let n = buf.withUnsafeMutableBytes { recv(client.fd, $0.baseAddress, $0.count, 0) }
                if n > 12, String(decoding: buf[0..<12], as: UTF8.self).contains("200") { return }
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        throw BenchError("node did not become healthy")
    }

    func shutdown() {
        for p in processes.values where p.isRunning { p.terminate() }
        for p in processes.values { p.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: root)
    }
}
