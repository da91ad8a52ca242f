import Crypto
import Foundation
import JWTKit
import SkeinCore
import SkeinService

/// Harper's authentication tokens (`create_authentication_tokens`, `refresh_operation_token`,
/// `Authorization: Bearer`): JWTs signed HS256 by the issuing node's key, which it stores in
/// the replicated `system.hdb_token_key` (kid = the node's name), so a token works on every
/// node its key reached. `sub` says what a token is (`operation` or `refresh`): a refresh
/// token is good only for getting operation tokens, and only while it is the user's latest
/// (its SHA-256 is kept in `hdb_user.refresh_token`).
actor TokenService {
    enum Kind: String, Sendable { case operation, refresh }

    struct Payload: JWTPayload {
        var sub: SubjectClaim
        var exp: ExpirationClaim
        var iat: IssuedAtClaim
        var username: String
        var super_user: Bool
        var cluster_user: Bool

        /// Expiry is checked by `verify` after the signature, to answer Harper's 403.
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    let store: RPCClient
    let nodeName: String
    let operationLifetime: TimeInterval
    let refreshLifetime: TimeInterval
    private let keys = JWTKeyCollection()
    private var known: Set<String> = []
    private var loadedAt = Date.distantPast

    init(store: RPCClient, nodeName: String, operationLifetime: TimeInterval, refreshLifetime: TimeInterval) {
        self.store = store
        self.nodeName = nodeName
        self.operationLifetime = operationLifetime
        self.refreshLifetime = refreshLifetime
    }

    static let invalid = SkeinError.unauthorized("invalid token")
    static let expired = SkeinError.forbidden("token expired")

    /// Both tokens for `user`; the refresh token becomes the user's only valid one.
    func issue(for user: AuthenticatedUser, operationLifetime lifetime: TimeInterval? = nil) async throws -> (operation: String, refresh: String) {
        try await ensureOwnKey()
        let operation = try await sign(user, .operation, lifetime: lifetime ?? operationLifetime)
        let refresh = try await sign(user, .refresh, lifetime: refreshLifetime)
        _ = try await store.call(op: "set_refresh_token", user: user.username,
                                 body: ["username": .string(user.username), "hash": .string(Self.digest(refresh))])
        return (operation, refresh)
    }

    /// A new operation token for the holder of a refresh token.
    func operationToken(for user: AuthenticatedUser) async throws -> String {
        try await ensureOwnKey()
        return try await sign(user, .operation, lifetime: operationLifetime)
    }

    /// The token's claims if it is a valid, unexpired token of `kind` signed by a known key:
    /// 401 `invalid token` otherwise, 403 `token expired` once it expired.
    func verify(_ token: String, as kind: Kind) async throws -> Payload {
        guard let kid = Self.keyID(token) else { throw Self.invalid }
        if !known.contains(kid) { try? await loadKeys(force: false) }
        guard known.contains(kid) else { throw Self.invalid }
        let payload: Payload
        do { payload = try await keys.verify(token, as: Payload.self) } catch { throw Self.invalid }
        guard payload.sub.value == kind.rawValue else { throw Self.invalid }
        guard payload.exp.value > Date() else { throw Self.expired }
        return payload
    }

    static func digest(_ token: String) -> String {
        SHA256.hash(data: Array(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    private func sign(_ user: AuthenticatedUser, _ kind: Kind, lifetime: TimeInterval) async throws -> String {
        let now = Date()
        let payload = Payload(sub: .init(value: kind.rawValue), exp: .init(value: now.addingTimeInterval(lifetime)), iat: .init(value: now),
                              username: user.username, super_user: user.isSuperUser,
                              cluster_user: user.permission["cluster_user"]?.boolValue == true)
        return try await keys.sign(payload, kid: JWKIdentifier(string: nodeName))
    }

    /// This node's key: the stored one, or a new random one stored now.
    private func ensureOwnKey() async throws {
        if known.contains(nodeName) { return }
        try await loadKeys(force: true)
        if known.contains(nodeName) { return }
        let secret = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
        let stored = try await store.call(op: "ensure_token_key", body: ["id": .string(nodeName), "secret": .string(secret)])
        await add(stored)
    }

    /// Reads every node's key from the store (unknown kids at most once a second).
    private func loadKeys(force: Bool) async throws {
        guard force || Date().timeIntervalSince(loadedAt) >= 1 else { return }
        loadedAt = Date()
        let records = try await store.call(op: "token_keys", body: [:])
        for record in records.arrayValue ?? [] { await add(record) }
    }

    private func add(_ record: JSON) async {
        guard let id = record["id"]?.stringValue, let secret = record["secret"]?.stringValue, !known.contains(id) else { return }
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256, kid: JWKIdentifier(string: id))
        known.insert(id)
    }

    /// The `kid` of a token's header, read without trusting it (it only picks the key).
    static func keyID(_ token: String) -> String? {
        guard let head = token.split(separator: ".", omittingEmptySubsequences: false).first, token.utf8.count < 16_384 else { return nil }
        var text = head.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        guard let data = Data(base64Encoded: text), let header = try? JSON.parse(Array(data)) else { return nil }
        return header["kid"]?.stringValue
    }
}
