import Foundation
import SkeinCore
import Testing

extension ProcessTests {
    /// Tokens a node did not issue to that user are 401 `invalid token`: unsigned (`alg:
    /// none`), a payload changed under a real signature (another user, super user, a later
    /// expiry), another token's signature, an unknown key id, and a token another cluster
    /// signed with its own key (a node that never replicated with this one).
    @Suite(.node(), .serialized)
    struct TokenForgery {
        static func part(_ json: JSON) -> String {
            Data(json.serialized()).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }

        static func decode(_ part: Substring) throws -> JSON {
            var text = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            while text.count % 4 != 0 { text += "=" }
            return try JSON.parse(Array(try #require(Data(base64Encoded: text), "base64url")))
        }

        /// The three parts of a JWT: header, payload (decoded) and signature (as sent).
        static func parts(_ token: String) throws -> (header: JSON, payload: JSON, signature: String) {
            let p = token.split(separator: ".", omittingEmptySubsequences: false)
            try #require(p.count == 3, "a JWT: \(token)")
            return (try decode(p[0]), try decode(p[1]), String(p[2]))
        }

        static func token(_ header: JSON, _ payload: JSON, _ signature: String) -> String {
            "\(part(header)).\(part(payload)).\(signature)"
        }

        static func operationToken(_ node: TestNode, _ user: String, _ password: String) async throws -> String {
            try await ProcessTests.Tokens.login(node, user, password).operation
        }

        @Test func forgedTokensAreRefused() async throws {
            let node = try TestNode.shared()
            try await node.freshTable("forge", "vault")
            try await node.ok(["operation": "add_role", "role": "forge_reader", "permission": ["forge": ["tables": ["vault": ["read": true]]]]])
            try await node.ok(["operation": "add_user", "username": "forger", "password": "pw-forger", "role": "forge_reader", "active": true])
            let mine = try await Self.operationToken(node, "forger", "pw-forger")
            let admins = try await Self.operationToken(node, node.adminUser, node.adminPassword)
            let (header, payload, signature) = try Self.parts(mine)
            #expect(header["alg"] == "HS256" && payload["username"] == "forger" && payload["super_user"] == false, "\(header) \(payload)")
            let restricted: JSON = ["operation": "list_users"]
            #expect(try await ProcessTests.Tokens.bearer(node, mine, restricted).status == 403, "the real token keeps its role")

            func elevated(_ changes: [String: JSON]) -> JSON {
                var p = payload.objectValue ?? [:]
                for (k, v) in changes { p[k] = v }
                return .object(p)
            }
            var noneHeader = header.objectValue ?? [:]
            noneHeader["alg"] = "none"
            var otherKid = header.objectValue ?? [:]
            otherKid["kid"] = "no-such-node"
            let forgeries: [(String, String)] = [
                ("alg none, no signature", Self.token(.object(noneHeader), elevated(["super_user": true]), "")),
                ("alg none, the real signature", Self.token(.object(noneHeader), payload, signature)),
                ("super_user set under the real signature", Self.token(header, elevated(["super_user": true]), signature)),
                ("another username under the real signature", Self.token(header, elevated(["username": .string(node.adminUser)]), signature)),
                ("a later expiry under the real signature", Self.token(header, elevated(["exp": 4_102_444_800]), signature)),
                ("the admin's signature on the forger's payload", try Self.token(header, payload, Self.parts(admins).signature)),
                ("an unknown key id", Self.token(.object(otherKid), payload, signature)),
                ("no signature", Self.token(header, payload, "")),
                ("two parts", "\(Self.part(header)).\(Self.part(payload))"),
            ]
            for (what, forged) in forgeries {
                let r = try await ProcessTests.Tokens.bearer(node, forged, restricted)
                #expect(r.status == 401 && r.json["error"] == "invalid token", "\(what): \(r)")
            }
            #expect(try await ProcessTests.Tokens.bearer(node, mine, restricted).status == 403, "the real token still works as itself")
        }

        /// Another cluster's node signs with a key this cluster never received: its tokens,
        /// even for a user of the same name and password, are refused here.
        @Test func anotherClustersTokenIsRefused() async throws {
            let node = try TestNode.shared()
            let foreign = try await withNode { other in
                #expect(other.adminUser == node.adminUser, "the same user name on both")
                let token = try await Self.operationToken(other, other.adminUser, other.adminPassword)
                #expect(try await ProcessTests.Tokens.bearer(other, token, ["operation": "describe_all"]).status == 200)
                return token
            }
            let here = try await ProcessTests.Tokens.bearer(node, foreign, ["operation": "describe_all"])
            #expect(here.status == 401 && here.json["error"] == "invalid token", "\(here)")
            let refresh = try await ProcessTests.Tokens.bearer(node, foreign, ["operation": "refresh_operation_token"])
            #expect(refresh.status == 401 || refresh.status == 400, "\(refresh)")
        }
    }
}
