import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SkeinCore

/// The few HTTP requests the launcher makes of a gateway: `GET /health` (and a login) while
/// waiting for a node, and `POST /` with the cluster's admin credentials for `skein ctl`.
public struct OperationsClient: Sendable {
    public let baseURL: String
    public let credentials: ClusterCredentials?

    public init(baseURL: String, credentials: ClusterCredentials?) {
        self.baseURL = baseURL
        self.credentials = credentials
    }

    /// Whether `/health` answers 200 within `timeout` seconds.
    public func isHealthy(timeout: Double = 2) async -> Bool {
        guard let url = URL(string: baseURL + "/health") else { return false }
        return (try? await send(URLRequest(url: url, timeoutInterval: timeout)).status) == 200
    }

    /// Whether the node takes requests: `/health` answers 200 and, when this client has
    /// credentials, they log in (`user_info`), which needs the store and the first super user,
    /// not only a listening gateway.
    public func isReady() async -> Bool {
        guard await isHealthy() else { return false }
        guard credentials != nil else { return true }
        let request: JSON = ["operation": "user_info"]
        return (try? await post(Data(request.serialized()), timeout: 5).status) == 200
    }

    /// `POST /` with `body` (an operation's JSON): the status and the answer's bytes.
    public func post(_ body: Data, timeout: Double = 120) async throws -> (status: Int, body: Data) {
        guard let url = URL(string: baseURL + "/") else { throw LauncherError("bad URL \(baseURL)") }
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let credentials {
            let token = Data("\(credentials.username):\(credentials.password)".utf8).base64EncodedString()
            request.setValue("Basic \(token)", forHTTPHeaderField: "Authorization")
        }
        return try await send(request)
    }

    private func send(_ request: URLRequest) async throws -> (status: Int, body: Data) {
        try await withCheckedThrowingContinuation { continuation in
            URLSession.shared.dataTask(with: request) { data, response, error in
                if let error { return continuation.resume(throwing: error) }
                guard let http = response as? HTTPURLResponse else {
                    return continuation.resume(throwing: LauncherError("no HTTP answer from \(baseURL)"))
                }
                continuation.resume(returning: (http.statusCode, data ?? Data()))
            }.resume()
        }
    }
}
