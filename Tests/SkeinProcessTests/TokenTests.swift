import Foundation
import SkeinCore
import Testing

extension ProcessTests {
    /// Harper's authentication tokens: `create_authentication_tokens` (with or without an
    /// `Authorization` header), `Authorization: Bearer`, `refresh_operation_token`, expiry,
    /// and tokens that end with their user.
    @Suite(.node(), .serialized)
    struct Tokens {
        /// POST without an Authorization header.
        static func anonymous(_ node: TestNode, _ body: JSON) async throws -> (status: Int, json: JSON) {
            try await node.post(body, user: nil)
        }

        static func bearer(_ node: TestNode, _ token: String, _ body: JSON) async throws -> (status: Int, json: JSON) {
            try await node.post(body, user: nil, headers: ["Authorization": "Bearer \(token)"])
        }

        static func login(_ node: TestNode, _ user: String, _ password: String) async throws -> (operation: String, refresh: String) {
            let r = try await anonymous(node, ["operation": "create_authentication_tokens", "username": .string(user), "password": .string(password)])
            #expect(r.status == 200, "\(r.json)")
            return (try #require(r.json["operation_token"]?.stringValue), try #require(r.json["refresh_token"]?.stringValue))
        }

        @Test func tokensFromAUsernameAndPasswordWorkAsBearer() async throws {
            let node = try TestNode.shared()
            let (operation, refresh) = try await Self.login(node, node.adminUser, node.adminPassword)
            #expect(operation.split(separator: ".").count == 3, "a JWT")
            let described = try await Self.bearer(node, operation, ["operation": "describe_all"])
            #expect(described.status == 200, "\(described.json)")
            let me = try await Self.bearer(node, operation, ["operation": "user_info"])
            #expect(me.json["username"]?.stringValue == node.adminUser)

            let bad = try await Self.bearer(node, "BAD_TOKEN", ["operation": "describe_all"])
            #expect(bad.status == 401 && bad.json["error"] == "invalid token", "\(bad)")
            var tampered = Array(operation)
            tampered[tampered.count - 3] = tampered[tampered.count - 3] == "A" ? "B" : "A"
            #expect(try await Self.bearer(node, String(tampered), ["operation": "describe_all"]).status == 401, "a changed signature")
            let refreshAsOperation = try await Self.bearer(node, refresh, ["operation": "describe_all"])
            #expect(refreshAsOperation.status == 401 && refreshAsOperation.json["error"] == "invalid token", "\(refreshAsOperation)")
        }

        @Test func harpersValidationAndMessages() async throws {
            let node = try TestNode.shared()
            let noPassword = try await Self.anonymous(node, ["operation": "create_authentication_tokens", "username": "admin"])
            #expect(noPassword.status == 401 && noPassword.json["error"] == "invalid credentials", "\(noPassword)")
            let wrong = try await Self.anonymous(node, ["operation": "create_authentication_tokens", "username": "nobody", "password": "wrong"])
            #expect(wrong.status == 401 && wrong.json["error"] == "invalid credentials", "\(wrong)")
            let emptyPassword = try await Self.anonymous(node, ["operation": "create_authentication_tokens", "username": "admin", "password": ""])
            #expect(emptyPassword.status == 400 && emptyPassword.json["error"] == "'password' is not allowed to be empty", "\(emptyPassword)")
            let bothEmpty = try await Self.anonymous(node, ["operation": "create_authentication_tokens", "username": "", "password": ""])
            #expect(bothEmpty.json["error"] == "'username' is not allowed to be empty. 'password' is not allowed to be empty", "\(bothEmpty)")
            let nothing = try await Self.anonymous(node, ["operation": "create_authentication_tokens"])
            #expect(nothing.status == 401 && nothing.json["error"] == "Must login", "\(nothing)")
            // Without credentials nothing else is answered, and a big body is not read.
            #expect(try await Self.anonymous(node, ["operation": "describe_all"]).status == 401)
            let big = JSON.object(["operation": "create_authentication_tokens", "username": "admin", "password": .string(String(repeating: "p", count: 100_000))])
            #expect(try await Self.anonymous(node, big).status == 401)
            let refreshMissing = try await node.post(["operation": "refresh_operation_token"])
            #expect(refreshMissing.status == 400 && refreshMissing.json["error"] == "refresh_token is required", "\(refreshMissing)")
            let badExpiry = try await node.post(["operation": "create_authentication_tokens", "expires_in": -5])
            #expect(badExpiry.status == 400)
        }

        @Test func refreshGivesANewOperationTokenAndOnlyTheLatestRefreshTokenCounts() async throws {
            let node = try TestNode.shared()
            // With Basic credentials and no username: the caller's own tokens.
            let own = try await node.post(["operation": "create_authentication_tokens"])
            #expect(own.status == 200)
            let first = try #require(own.json["refresh_token"]?.stringValue)
            let viaHeader = try await Self.bearer(node, first, ["operation": "refresh_operation_token"])
            #expect(viaHeader.status == 200, "\(viaHeader.json)")
            let fresh = try #require(viaHeader.json["operation_token"]?.stringValue)
            #expect(try await Self.bearer(node, fresh, ["operation": "describe_all"]).status == 200)
            let viaBody = try await Self.anonymous(node, ["operation": "refresh_operation_token", "refresh_token": .string(first)])
            #expect(viaBody.status == 200 && viaBody.json["operation_token"]?.stringValue != nil, "\(viaBody.json)")
            // New tokens retire the old refresh token (Harper keeps one per user).
            _ = try await Self.login(node, node.adminUser, node.adminPassword)
            let retired = try await Self.bearer(node, first, ["operation": "refresh_operation_token"])
            #expect(retired.status == 401 && retired.json["error"] == "invalid token", "\(retired)")
            // An operation token cannot refresh.
            #expect(try await Self.bearer(node, fresh, ["operation": "refresh_operation_token"]).status == 400)
        }

        @Test func anExpiredTokenIs403() async throws {
            let node = try TestNode.shared()
            let r = try await Self.anonymous(node, ["operation": "create_authentication_tokens", "username": .string(node.adminUser),
                                                    "password": .string(node.adminPassword), "expires_in": 1])
            let token = try #require(r.json["operation_token"]?.stringValue)
            #expect(try await Self.bearer(node, token, ["operation": "describe_all"]).status == 200)
            try await Task.sleep(for: .milliseconds(2100))
            let expired = try await Self.bearer(node, token, ["operation": "describe_all"])
            #expect(expired.status == 403 && expired.json["error"] == "token expired", "\(expired)")
        }

        @Test func tokensEndWithTheirUserAndKeepTheirRole() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("tok", "mine")
            try await node.freshTable("tok", "theirs")
            try await node.ok(["operation": "add_role", "role": "tok_reader", "permission": ["tok": ["tables": ["mine": ["read": true]]]]])
            try await node.ok(["operation": "add_user", "username": "tokuser", "password": "pw-tokuser", "role": "tok_reader", "active": true])
            let (operation, refresh) = try await Self.login(node, "tokuser", "pw-tokuser")
            let search: (String) -> JSON = { ["operation": "search_by_value", "database": "tok", "table": .string($0), "attribute": "id", "value": "*"] }
            #expect(try await Self.bearer(node, operation, search("mine")).status == 200)
            #expect(try await Self.bearer(node, operation, search("theirs")).status == 403, "the role applies to a token")
            let described = try await Self.bearer(node, operation, ["operation": "describe_all"])
            #expect(described.status == 200 && described.json.objectValue?.keys.sorted() == ["tok"] && described.json["tok"]?.objectValue?.keys.sorted() == ["mine"],
                    "describe_all shows a role what it may use: \(described)")

            try await node.ok(["operation": "alter_user", "username": "tokuser", "active": false])
            #expect(try await Self.bearer(node, operation, search("mine")).status == 401, "a deactivated user's token stops at once")
            try await node.ok(["operation": "alter_user", "username": "tokuser", "active": true])
            #expect(try await Self.bearer(node, operation, search("mine")).status == 200)
            try await node.ok(["operation": "drop_user", "username": "tokuser"])
            let dropped = try await Self.bearer(node, operation, search("mine"))
            #expect(dropped.status == 401, "a dropped user's token stops at once: \(dropped)")
            #expect(try await Self.bearer(node, refresh, ["operation": "refresh_operation_token"]).status == 401)
            try await node.ok(["operation": "drop_role", "role": "tok_reader"])
        }
    }

    /// A token works on every node: the issuing node's key replicates with `system`.
    @Suite(.serialized) struct TokensAcrossNodes {
        @Test func aTokenFromOneNodeWorksOnTheOther() async throws {
            try await withReplicatingPair { a, b in
                let (operation, refresh) = try await ProcessTests.Tokens.login(a.node, a.node.adminUser, a.node.adminPassword)
                let onB = try await pollUntil("node-a's token accepted on node-b") { () -> Bool? in
                    try await ProcessTests.Tokens.bearer(b.node, operation, ["operation": "describe_all"]).status == 200 ? true : nil
                }
                #expect(onB)
                let refreshed = try await pollUntil("node-a's refresh token accepted on node-b") { () -> String? in
                    try await ProcessTests.Tokens.bearer(b.node, refresh, ["operation": "refresh_operation_token"]).json["operation_token"]?.stringValue
                }
                // node-b signs with its own key; node-a learns it through replication.
                _ = try await pollUntil("node-b's token accepted on node-a") { () -> Bool? in
                    try await ProcessTests.Tokens.bearer(a.node, refreshed, ["operation": "describe_all"]).status == 200 ? true : nil
                }
            }
        }
    }
}
