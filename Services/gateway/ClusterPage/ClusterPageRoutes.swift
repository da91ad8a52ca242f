import HTTPTypes
import Hummingbird
import NIOCore
import SkeinCore

/// `GET /cluster`, a live page of the cluster as this node sees it, and `GET /cluster/state`,
/// the JSON it polls (docs/INTERFACES.md §5 "The cluster page"). Both for super users only;
/// the page is served from the binary and fetches nothing but the state from this gateway.
enum ClusterPageRoutes {
    static func register(on router: Router<GatewayRequestContext>, handler: OperationsHandler) {
        router.get("/cluster") { request, context -> Response in
            switch await ClusterPageGate.admit(request, context, handler: handler, challenging: true) {
            case .refused(let response): return response
            case .admitted: return page()
            }
        }
        router.get("/cluster/state") { request, context -> Response in
            switch await ClusterPageGate.admit(request, context, handler: handler, challenging: false) {
            case .refused(let response): return response
            case .admitted(let user):
                var response = jsonResponse(200, await ClusterState(handler: handler).assemble(for: user).serialized())
                response.headers[.cacheControl] = "no-store"
                return response
            }
        }
    }

    /// The page, with a policy that lets it load nothing from anywhere but this gateway.
    static func page() -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        headers[.contentSecurityPolicy] = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'"
        headers[.xContentTypeOptions] = "nosniff"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: ClusterPageAsset.html)))
    }
}
