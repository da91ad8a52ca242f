import SkeinCore

/// `create_authentication_tokens` and `refresh_operation_token`, with Harper's checks and
/// messages (its integration tests `14_tokenAuth`, `21_authenticationTests`).
struct TokenOperations: Sendable {
    let authenticator: Authenticator
    var tokens: TokenService { authenticator.tokens }

    /// A request without credentials is read only this far: enough for a login, too little
    /// to cost the gateway anything.
    static let maxUnauthenticatedBody = 64 * 1024

    /// `caller`: who the request authenticated as (nil: no `Authorization` header).
    func handle(_ op: String, _ req: OperationRequest, caller: AuthenticatedUser?, address: String) async throws -> JSON {
        switch op {
        case "create_authentication_tokens":
            let lifetime = try Self.expiresIn(req)  // input first: a bad request is 400 whoever sends it
            let user = try await tokenUser(req, caller: caller, address: address)
            let (operation, refresh) = try await tokens.issue(for: user, operationLifetime: lifetime)
            await authenticator.invalidate()  // the user record now holds the new refresh token
            return ["operation_token": .string(operation), "refresh_token": .string(refresh)]
        case "refresh_operation_token":
            let user: AuthenticatedUser
            if let text = req.body["refresh_token"], !text.isNull {
                guard let token = text.stringValue, !token.isEmpty else { throw SkeinError.badRequest("'refresh_token' must be a non-empty string") }
                user = try await authenticator.bearer(token)
                guard case .refreshToken = user.credential else { throw TokenService.invalid }
            } else if let caller, case .refreshToken = caller.credential {
                user = caller
            } else {
                throw SkeinError.badRequest("refresh_token is required")
            }
            return ["operation_token": .string(try await tokens.operationToken(for: user))]
        default:
            throw SkeinError.badRequest("Operation '\(op)' not found")
        }
    }

    /// Whose tokens: the `username`/`password` in the body when given (checked like a
    /// login), else the caller's own.
    func tokenUser(_ req: OperationRequest, caller: AuthenticatedUser?, address: String) async throws -> AuthenticatedUser {
        let username = try Self.optionalString(req, "username"), password = try Self.optionalString(req, "password")
        var empty: [String] = []
        if username == "" { empty.append("'username' is not allowed to be empty") }
        if password == "" { empty.append("'password' is not allowed to be empty") }
        guard empty.isEmpty else { throw SkeinError.badRequest(empty.joined(separator: ". ")) }
        if username == nil, password == nil {
            guard let caller else { throw SkeinError.unauthorized("Must login") }
            if case .refreshToken = caller.credential { throw TokenService.invalid }
            return caller
        }
        guard let username, let password else { throw SkeinError.unauthorized("invalid credentials") }
        do {
            return try await authenticator.authenticate(username: username, password: password, address: address)
        } catch let error as SkeinError where error.status == 401 {
            throw SkeinError.unauthorized("invalid credentials")
        }
    }

    static func optionalString(_ req: OperationRequest, _ key: String) throws -> String? {
        guard let v = req.body[key], !v.isNull else { return nil }
        guard let s = v.stringValue else { throw SkeinError.badRequest("'\(key)' must be a string") }
        return s
    }

    /// `expires_in`: seconds, or a duration like `1h` (Harper passes it to jsonwebtoken).
    static func expiresIn(_ req: OperationRequest) throws -> Double? {
        guard let v = req.body["expires_in"], !v.isNull else { return nil }
        let seconds = v.doubleValue ?? v.stringValue.flatMap(Quantities.parseDuration)
        guard let seconds, seconds > 0, seconds <= 10 * 365 * 86_400 else {
            throw SkeinError.badRequest("'expires_in' must be a positive number of seconds or a duration like 1h")
        }
        return seconds
    }
}
