import HTTPTypes
import Hummingbird
import NIOCore
import SkeinCore

func jsonResponse(_ status: Int, _ body: [UInt8]) -> Response {
    var headers = HTTPFields()
    headers[.contentType] = "application/json"
    return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
}

extension OperationsHandler.Outcome {
    /// The HTTP response: the body (streamed when paged), `Retry-After` when known, and
    /// the connection closed after a refused login (401) or a throttled one (429).
    var response: Response {
        var response = jsonResponse(status, body)
        if let paged { response.body = paged.responseBody }
        if let retryAfter { response.headers[.retryAfter] = String(retryAfter) }
        if status == 401 || status == 429 { response.headers[.connection] = "close" }
        return response
    }
}
