import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SkeinCore

/// The REST listener (`http.port`): every request, any method, authenticated from its
/// headers before a body is read, then handed to `RESTHandler`. Errors are Harper's
/// `{"error": "..."}` with their status.
struct RESTResponder: HTTPResponder {
    let handler: RESTHandler
    let maxBodySize: Int
    let metrics: GatewayMetrics

    static let methods: Set<String> = ["GET", "PUT", "PATCH", "POST", "DELETE"]

    func respond(to request: Request, context: GatewayRequestContext) async throws -> Response {
        let started = Date()
        let method = request.method.rawValue
        let response: Response
        switch await handler.operations.login(authorization: request.headers[.authorization], address: context.clientAddress) {
        case .failure(let refused):
            response = refused.response
        case .success(let user):
            response = await answer(request, method: method, user: user)
        }
        metrics.recordRequest(operation: Self.methods.contains(method) ? "rest_" + method.lowercased() : "rest_other",
                              status: Int(response.status.code), seconds: Date().timeIntervalSince(started))
        return response
    }

    func answer(_ request: Request, method: String, user: AuthenticatedUser) async -> Response {
        var request = request
        let path = RESTPath(request.uri.path)
        do {
            if case .refreshToken = user.credential { throw TokenService.invalid }
            guard let path else { throw SkeinError.notFound("no table at '\(request.uri.path)'") }
            let maxBodySize = self.maxBodySize
            let reply = try await handler.handle(
                method: method, path: path, query: request.uri.query,
                body: { Array(try await request.collectBody(upTo: maxBodySize).readableBytesView) },
                contentType: request.headers[.contentType], format: RESTFormat(accept: request.headers[.accept]), user: user)
            return Self.response(reply)
        } catch let refused as RESTHandler.MethodNotAllowed {
            var response = jsonResponse(405, refused.error.body.serialized())
            response.headers[.allow] = refused.allow
            return response
        } catch let error as SkeinError {
            return jsonResponse(error.status, error.body.serialized())
        } catch is NIOTooManyBytesError {
            return jsonResponse(413, SkeinError.tooLarge("request body larger than \(maxBodySize) bytes (operationsApi.network.maxBodySize)").body.serialized())
        } catch {
            handler.operations.logger.error("REST request failed", metadata: ["error": .string("\(error)")])
            return jsonResponse(500, SkeinError.internal("\(error)").body.serialized())
        }
    }

    static func response(_ reply: RESTReply) -> Response {
        var headers = HTTPFields()
        if let type = reply.contentType { headers[.contentType] = type }
        if let location = reply.location { headers[.location] = location }
        let body: ResponseBody = reply.paged?.responseBody ?? .init(byteBuffer: ByteBuffer(bytes: reply.body))
        return Response(status: .init(code: reply.status), headers: headers, body: body)
    }
}
