import Crypto
import Foundation
import HummingbirdBcrypt
import SkeinCore
import SkeinService

/// An authenticated caller: the `hdb_user` record with its role expanded.
struct AuthenticatedUser: Sendable {
    /// How the caller proved who they are: a refresh token is good for nothing but
    /// `refresh_operation_token`.
    enum Credential: Sendable { case password, operationToken, refreshToken(String) }

    let username: String
    let role: String
    let permission: JSON
    var credential: Credential = .password
    /// `permission` as Harper reads it, parsed once per login.
    let rules: RolePermission

    init(username: String, role: String, permission: JSON, credential: Credential = .password) {
        self.username = username
        self.role = role
        self.permission = permission
        self.credential = credential
        rules = RolePermission(permission)
    }

    var isSuperUser: Bool { rules.isSuperUser }

    /// Whether the role has every one of `actions` on the table (table rights only).
    func allows(_ actions: [String], database: String, table: String) -> Bool {
        PermissionDenial.check(rules, database: database, table: table, needs: actions) == nil
    }
}

/// Login refused for now: too many failures from this address (429 with Retry-After), or
/// too many password checks in progress (503 with Retry-After).
struct LoginRefused: Error {
    let error: SkeinError
    let retryAfterSeconds: Int
}

/// HTTP Basic authentication against `hdb_user` (bcrypt hashes).
///
/// bcrypt is slow on purpose, so a successful check is remembered as a keyed digest of the
/// password (HMAC-SHA256 with a key made at start, compared in constant time; never the
/// password itself); a changed password or user record invalidates it. User records are
/// re-read from the store at most once a second (and at once after a user change through
/// this gateway). Both caches are bounded. Unknown users cost a bcrypt run like known ones
/// (no user enumeration by timing); failures are throttled per client address and user
/// (`LoginThrottle`); at most `maxConcurrentChecks` bcrypt runs at once, the same
/// credentials arriving together sharing one.
actor Authenticator {
    let store: RPCClient
    private var users: [String: (user: JSON, fetched: Date)] = [:]
    private var verified: [String: (digest: [UInt8], hash: String)] = [:]
    private var throttle = LoginThrottle()
    private var checksInFlight = 0
    /// Checks under way, by user and password digest: the same credentials arriving at once
    /// (many clients of one service starting together) share one bcrypt run.
    private var pending: [[UInt8]: Task<Bool, Never>] = [:]
    private let digestKey = SymmetricKey(size: .bits256)
    static let userTTL: TimeInterval = 1
    static let bcryptCost: UInt8 = 10
    static let maxCachedUsers = 1000
    static let maxConcurrentChecks = 4
    /// Checked for unknown users, so they take as long as known ones.
    static let dummyHash = Bcrypt.hash("skein-no-such-user", cost: bcryptCost)

    let tokens: TokenService

    init(store: RPCClient, tokens: TokenService) {
        self.store = store
        self.tokens = tokens
    }

    static let credentialsRequired = SkeinError.unauthorized("Login failed: HTTP Basic credentials or a Bearer token are required")

    /// The caller's credentials (Basic or Bearer), checked. `address`: the client's IP
    /// address (throttling).
    func authenticate(authorization: String?, address: String = "") async throws -> AuthenticatedUser {
        guard let authorization else { throw Self.credentialsRequired }
        if authorization.lowercased().hasPrefix("bearer ") {
            return try await bearer(String(authorization.dropFirst(7)).trimmingCharacters(in: .whitespaces))
        }
        guard authorization.lowercased().hasPrefix("basic "),
            let data = Data(base64Encoded: String(authorization.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let decoded = String(data: data, encoding: .utf8), let colon = decoded.firstIndex(of: ":")
        else { throw Self.credentialsRequired }
        let username = String(decoded[..<colon]), password = String(decoded[decoded.index(after: colon)...])
        return try await authenticate(username: username, password: password, address: address)
    }

    /// An operation token, or a refresh token that is still its user's latest. The user must
    /// still exist and be active: dropping or deactivating a user ends their tokens.
    func bearer(_ token: String) async throws -> AuthenticatedUser {
        let payload: TokenService.Payload
        var credential = AuthenticatedUser.Credential.operationToken
        do {
            payload = try await tokens.verify(token, as: .operation)
        } catch let error as SkeinError where error == TokenService.invalid {
            payload = try await tokens.verify(token, as: .refresh)
            credential = .refreshToken(token)
        }
        guard let user = try await fetchUser(payload.username), user["active"]?.boolValue != false else { throw TokenService.invalid }
        if case .refreshToken = credential, user["refresh_token"]?.stringValue != TokenService.digest(token) { throw TokenService.invalid }
        var authenticated = Self.makeUser(payload.username, user)
        authenticated.credential = credential
        return authenticated
    }

    /// A username and password, checked (bcrypt, cached as a keyed digest, throttled).
    func authenticate(username: String, password: String, address: String) async throws -> AuthenticatedUser {
        let now = ServiceMain.nowMillis()
        if let wait = throttle.wait(address: address, username: username, now: now) {
            throw LoginRefused(error: SkeinError(status: 429, "Login failed too often: try again later"), retryAfterSeconds: Int((wait + 999) / 1000))
        }
        let user = try await fetchUser(username)
        let hash = user.flatMap { $0["active"]?.boolValue == false ? nil : $0["password"]?.stringValue }
        let digest = Array(HMAC<SHA256>.authenticationCode(for: Array(password.utf8), using: digestKey))
        if let user, let hash, let v = verified[username], v.hash == hash, Self.constantTimeEqual(v.digest, digest) {
            return Self.makeUser(username, user)
        }
        let key = Array(username.utf8) + [0] + digest + Array((hash ?? "").utf8)
        let ok: Bool
        if let shared = pending[key] {
            ok = await shared.value
        } else {
            guard checksInFlight < Self.maxConcurrentChecks else {
                throw LoginRefused(error: .unavailable("too many logins in progress"), retryAfterSeconds: 1)
            }
            checksInFlight += 1
            let check = Task { await Self.verifyOffPool(password, hash ?? Self.dummyHash) && hash != nil }
            pending[key] = check
            ok = await check.value
            pending[key] = nil
            checksInFlight -= 1
        }
        guard ok, let user, let hash else {
            throttle.failed(address: address, username: username, now: ServiceMain.nowMillis())
            throw SkeinError.unauthorized("Login failed")
        }
        throttle.succeeded(address: address, username: username)
        if verified.count >= Self.maxCachedUsers { verified.removeAll() }
        verified[username] = (digest, hash)
        return Self.makeUser(username, user)
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in a.indices { diff |= a[i] ^ b[i] }
        return diff == 0
    }

    static func makeUser(_ username: String, _ user: JSON) -> AuthenticatedUser {
        let role = user["role"]
        return AuthenticatedUser(
            username: username, role: role?["role"]?.stringValue ?? role?.stringValue ?? "",
            permission: role?["permission"] ?? [:])
    }

    /// The user's record, nil when there is none.
    private func fetchUser(_ username: String) async throws(SkeinError) -> JSON? {
        if let cached = users[username], Date().timeIntervalSince(cached.fetched) < Self.userTTL {
            return cached.user.nonNull
        }
        let user = try await store.call(op: "get_user", body: ["username": .string(username)])
        if users.count >= Self.maxCachedUsers { users.removeAll() }
        users[username] = (user, Date())
        return user.nonNull
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
