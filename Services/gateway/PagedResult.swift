import Hummingbird
import NIOCore
import SkeinCore
import SkeinService

/// A result the store or auditd hands out in pages (docs/INTERFACES.md §5 "Paged results"),
/// streamed to the HTTP client as one JSON array (chunked), a page at a time: no process
/// holds the whole result, and the next page is asked for only once the client has taken
/// the last one.
struct PagedResult: Sendable {
    let client: RPCClient
    /// The first request's header and body: each next page repeats them with `continue`.
    let header: JSON
    let body: [UInt8]
    let firstPage: [UInt8]
    let more: String
    /// JSON array (the operations API) or CSV (REST with `Accept: text/csv`).
    var encoder: any PageEncoder = ArrayStitcher()

    /// If a page fails (the service restarted, the cursor expired) or the client goes
    /// away, the service is told to drop the cursor and the connection is cut before the
    /// array is closed: a client sees a broken response, never a short result that looks whole.
    var responseBody: ResponseBody {
        ResponseBody { [self] writer in
            var array = encoder
            var token = more
            do { try await writer.write(ByteBuffer(bytes: try array.open(firstPage))) } catch {
                cancel(token)  // the client left during the first page
                throw error
            }
            while true {
                let reply: RPCReply
                do {
                    reply = try await client.call(RPCRequest(header: PageRequest(continuation: token).adding(to: header), body: body))
                    guard reply.status == 200 else { throw SkeinError(status: reply.status, "page failed: \(reply.status)") }
                    try await writer.write(ByteBuffer(bytes: try array.append(reply.body)))
                } catch {
                    cancel(token)
                    throw error
                }
                guard let next = reply.more else { break }
                token = next
            }
            try await writer.write(ByteBuffer(bytes: array.close()))
            try await writer.finish(nil)
        }
    }

    /// Frees the service's cursor now rather than when it expires.
    func cancel(_ token: String) {
        var page = PageRequest(continuation: token)
        page.cancel = true
        let request = RPCRequest(header: page.adding(to: header), body: body)
        Task { _ = try? await client.call(request, timeoutMillis: 2000) }
    }
}

/// Every page of a paged store or auditd read, for work the gateway does itself
/// (`export_local`, `delete_records_before`): `page` gets each reply in order.
enum StorePages {
    static func forEach(_ client: RPCClient, header: JSON, body: [UInt8], _ page: (RPCReply) async throws -> Void) async throws {
        var request = PageRequest()
        while true {
            let reply = try await client.call(RPCRequest(header: request.adding(to: header), body: body))
            guard reply.status == 200 else { _ = try reply.result(); throw SkeinError(status: reply.status, "a page failed: \(reply.status)") }
            try await page(reply)
            guard let more = reply.more else { return }
            request.continuation = more
        }
    }
}
