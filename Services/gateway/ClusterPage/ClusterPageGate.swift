import HTTPTypes
import Hummingbird
import SkeinCore

/// Who may see the cluster page: a super user, logged in exactly as on `POST /` (Basic
/// credentials or an operation token, through the same Authenticator and its throttling).
enum ClusterPageGate {
    /// Sent with the page's 401 so that a browser opening it asks for the user and password
    /// (not with the state's: the page's script has the browser's credentials already, and a
    /// script or test client should get a plain 401).
    static let challenge = #"Basic realm="Skein", charset="UTF-8""#

    enum Admission {
        case admitted(AuthenticatedUser)
        /// The answer to send instead: 401 with the challenge, 429, or 403 for a user who is
        /// not a super user.
        case refused(Response)
    }

    static func admit(_ request: Request, _ context: GatewayRequestContext, handler: OperationsHandler, challenging: Bool) async -> Admission {
        switch await handler.login(authorization: request.headers[.authorization], address: context.clientAddress) {
        case .failure(let refused):
            var response = refused.response
            if challenging, refused.status == 401 { response.headers[.wwwAuthenticate] = challenge }
            return .refused(response)
        case .success(let user):
            if case .refreshToken = user.credential { return .refused(OperationsHandler.Outcome(TokenService.invalid).response) }
            guard user.isSuperUser else {
                return .refused(jsonResponse(403, SkeinError.forbidden("the cluster page is restricted to super users").body.serialized()))
            }
            return .admitted(user)
        }
    }
}
