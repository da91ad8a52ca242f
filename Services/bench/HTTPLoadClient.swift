import Foundation

/// A minimal blocking HTTP/1.1 client with keep-alive, for load generation: one per
/// thread, no allocation-heavy stack in the measured path.
final class HTTPLoadClient {
    let fd: Int32
    let host: String
    let port: Int
    var buffer = [UInt8](repeating: 0, count: 1 << 16)

    init(host: String, port: Int) throws {
        self.host = host
        self.port = port
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &addr.sin_addr)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw BenchError("connect \(host):\(port) failed: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close(fd) }

    /// POSTs `body` to `/` and returns (status, body).
    func post(_ body: [UInt8], authorization: String) throws -> (Int, [UInt8]) {
        try send("POST", "/", body, authorization: authorization)
    }

    /// GETs `path` (already percent-encoded) and returns (status, body).
    func get(_ path: String, authorization: String) throws -> (Int, [UInt8]) {
        try send("GET", path, [], authorization: authorization)
    }

    private func send(_ method: String, _ path: String, _ body: [UInt8], authorization: String) throws -> (Int, [UInt8]) {
        var request = Array("\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\nContent-Type: application/json\r\nAuthorization: \(authorization)\r\nContent-Length: \(body.count)\r\n\r\n".utf8)
        request.append(contentsOf: body)
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw BenchError("send failed") }
            sent += n
        }
        var received: [UInt8] = []
        var headerEnd: Int?
        var contentLength = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw BenchError("connection closed") }
            received.append(contentsOf: buffer[0..<n])
            if headerEnd == nil, let end = Self.find(received, [13, 10, 13, 10]) {
                headerEnd = end + 4
                let head = String(decoding: received[0..<end], as: UTF8.self).lowercased()
                for line in head.split(separator: "\r\n") where line.hasPrefix("content-length:") {
                    contentLength = Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0
                }
            }
            if let headerEnd, received.count >= headerEnd + contentLength {
                let statusLine = String(decoding: received[0..<min(12, received.count)], as: UTF8.self)
                let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") ?? 0
                return (status, Array(received[headerEnd..<(headerEnd + contentLength)]))
            }
        }
    }

    static func find(_ haystack: [UInt8], _ needle: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] && Array(haystack[i..<(i + needle.count)]) == needle {
            return i
        }
        return nil
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
