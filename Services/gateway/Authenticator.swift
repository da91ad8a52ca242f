import Foundation
import HummingbirdBcrypt
import SkeinCore
import SkeinService

/// An authenticated caller: the `hdb_user` record with its role expanded.
struct AuthenticatedUser: Sendable {
    let username: String
    let role: String
    let permission: JSON

    var isSuperUser: Bool { permission["super_user"]?.boolValue == true }

    /// Harper's role permissions: `{db: {tables: {table: {read, insert, update, delete}}}}`.
    func allows(_ actions: [String], database: String, table: String) -> Bool {
        if isSuperUser { return true }
        guard let t = permission[database]?["tables"]?[table] else { return false }
        return actions.allSatisfy { t[$0]?.boolValue == true }
    }
}

/// HTTP Basic authentication against `hdb_user` (bcrypt hashes).
///
/// bcrypt is slow on purpose, so a successful (user, password, hash) check is remembered;
/// a changed password or user record invalidates it. User records are re-read from the
/// store at most once a second (and at once after a user change through this gateway).
actor Authenticator {
    let store: RPCClient
    private var users: [String: (user: JSON, fetched: Date)] = [:]
    private var verified: [String: (password: String, hash: String)] = [:]
    static let userTTL: TimeInterval = 1
    static let bcryptCost: UInt8 = 10

    init(store: RPCClient) { self.store = store }

    func authenticate(authorization: String?) async throws(SkeinError) -> AuthenticatedUser {
        guard let authorization, authorization.lowercased().hasPrefix("basic "),
            let data = Data(base64Encoded: String(authorization.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let decoded = String(data: data, encoding: .utf8), let colon = decoded.firstIndex(of: ":")
        else { throw .unauthorized("Login failed: HTTP Basic credentials are required") }
        let username = String(decoded[..<colon]), password = String(decoded[decoded.index(after: colon)...])
        let user = try await fetchUser(username)
        guard let user, let hash = user["password"]?.stringValue, user["active"]?.boolValue != false else {
            throw .unauthorized("Login failed")
        }
        if let v = verified[username], v.password == password, v.hash == hash {
            return Self.makeUser(username, user)
        }
        let ok = await Self.verifyOffPool(password, hash)
        guard ok else { throw .unauthorized("Login failed") }
        verified[username] = (password, hash)
        return Self.makeUser(username, user)
    }

    static func makeUser(_ username: String, _ user: JSON) -> AuthenticatedUser {
        let role = user["role"]
        return AuthenticatedUser(
            username: username, role: role?["role"]?.stringValue ?? role?.stringValue ?? "",
            permission: role?["permission"] ?? [:])
    }

    private func fetchUser(_ username: String) async throws(SkeinError) -> JSON? {
        if let cached = users[username], Date().timeIntervalSince(cached.fetched) < Self.userTTL {
            return cached.user.isNull ? nil : cached.user
        }
        let user = try await store.call(op: "get_user", body: ["username": .string(username)])
        users[username] = (user, Date())
        return user.isNull ? nil : user
    }

    func invalidate() {
        users.removeAll()
    }

    /// bcrypt takes tens of milliseconds: keep it off the two cooperative threads.
    static func verifyOffPool(_ password: String, _ hash: String) async -> Bool {
        await withCheckedContinuation { c in
            DispatchQueue.global().async { c.resume(returning: Bcrypt.verify(password, hash: hash)) }
        }
    }

    static func hashOffPool(_ password: String) async -> String {
        await withCheckedContinuation { c in
            DispatchQueue.global().async { c.resume(returning: Bcrypt.hash(password, cost: bcryptCost)) }
        }
    }
}
