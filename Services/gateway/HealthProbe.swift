import Foundation
import SkeinCore
import SkeinService

/// `skein-gateway --health --config NODE.yaml`: GET /health on the configured address and
/// exit 0 on HTTP 200 within 2 s, 1 otherwise (what container health checks run). A plain
/// socket, so the check needs nothing but the binary.
enum HealthProbe {
    static func runIfRequested(host: String, port: Int) {
        guard HealthCheck.requested() else { return }
        let target = (host == "0.0.0.0" || host == "::") ? "127.0.0.1" : host
        if let status = statusLine(host: target, port: port), status.contains(" 200") {
            print("gateway: ok")
            exit(0)
        }
        print("gateway: unhealthy (no HTTP 200 from http://\(target):\(port)/health)")
        exit(1)
    }

    private static func statusLine(host: String, port: Int) -> String? {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var info: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &info) == 0, let first = info else { return nil }
        defer { freeaddrinfo(info) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else { return nil }
        let request = Array("GET /health HTTP/1.0\r\nHost: \(host)\r\n\r\n".utf8)
        guard send(fd, request, request.count, 0) == request.count else { return nil }
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = recv(fd, &buffer, buffer.count, 0)
        guard n > 0 else { return nil }
        return String(decoding: buffer[..<n], as: UTF8.self).split(separator: "\r\n").first.map(String.init)
    }
}
