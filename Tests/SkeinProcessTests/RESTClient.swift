import Foundation
import SkeinCore

/// A REST response: status, headers (lower-cased names) and the body (de-chunked).
struct RESTResponse {
    let status: Int
    let headers: [String: String]
    let body: String

    var json: JSON { (try? JSON.parse(Array(body.utf8))) ?? .string(body) }
    var error: String? { json["error"]?.stringValue }
}

extension TestNode {
    /// A REST request to `http.port`, sent byte for byte as written (queries with `|`, `<`
    /// or `(` unencoded, as curl sends them), as the admin unless `authorization` is given
    /// ("" sends none).
    func rest(_ method: String, _ target: String, body: JSON? = nil, rawBody: String? = nil, authorization: String? = nil,
              headers: [String: String] = [:], port: Int? = nil) throws -> RESTResponse {
        let payload = rawBody ?? body.map(\.text) ?? ""
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        let credentials = authorization ?? Self.basic(adminUser, adminPassword)
        if !credentials.isEmpty { head += "Authorization: \(credentials)\r\n" }
        var fields = headers
        if body != nil, fields["Content-Type"] == nil { fields["Content-Type"] = "application/json" }
        for (k, v) in fields.sorted(by: { $0.key < $1.key }) { head += "\(k): \(v)\r\n" }
        if !payload.isEmpty || ["PUT", "POST", "PATCH"].contains(method) { head += "Content-Length: \(payload.utf8.count)\r\n" }
        let http = try RawHTTP(port: port ?? restPort)
        http.send(head + "\r\n" + payload)
        let (text, _) = http.read(timeout: 30)
        return try Self.parseResponse(text)
    }

    /// `rest` for the given user's Basic credentials.
    func rest(_ method: String, _ target: String, body: JSON? = nil, user: String, password: String) throws -> RESTResponse {
        try rest(method, target, body: body, authorization: Self.basic(user, password))
    }

    static func parseResponse(_ text: String) throws -> RESTResponse {
        guard let split = text.range(of: "\r\n\r\n") else { throw NodeError("no complete response: \(text.prefix(200))") }
        let lines = text[..<split.lowerBound].components(separatedBy: "\r\n")
        guard let statusText = lines.first?.split(separator: " ").dropFirst().first, let status = Int(statusText) else {
            throw NodeError("bad status line: \(lines.first ?? "")")
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = String(text[split.upperBound...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" { body = dechunked(body) }
        return RESTResponse(status: status, headers: headers, body: body)
    }

    static func dechunked(_ text: String) -> String {
        var bytes = Array(text.utf8)[...], out: [UInt8] = []
        while let lineEnd = bytes.firstRange(of: Array("\r\n".utf8)) {
            let size = Int(String(decoding: bytes[..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";")[0], radix: 16) ?? 0
            bytes = bytes[lineEnd.upperBound...]
            if size == 0 { break }
            out += bytes.prefix(size)
            bytes = bytes.dropFirst(size + 2)
        }
        return String(decoding: out, as: UTF8.self)
    }
}
