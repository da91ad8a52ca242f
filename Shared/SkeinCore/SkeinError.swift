/// An error that reaches a client: an HTTP status and a message, never a stack trace.
///
/// Every layer throws these for input problems, so the gateway can answer with Harper's
/// `{"error": "..."}` body and the right status without guessing.
public struct SkeinError: Error, Sendable, Equatable, CustomStringConvertible {
    public let status: Int
    public let message: String
    /// More of the body beside `error` (Harper's 403 names what the role lacks).
    public let fields: [String: JSON]

    public init(status: Int, _ message: String, fields: [String: JSON] = [:]) {
        self.status = status
        self.message = message
        self.fields = fields
    }

    public var description: String { "\(status): \(message)" }

    public static func badRequest(_ m: String) -> SkeinError { SkeinError(status: 400, m) }
    public static func unauthorized(_ m: String) -> SkeinError { SkeinError(status: 401, m) }
    public static func forbidden(_ m: String) -> SkeinError { SkeinError(status: 403, m) }
    public static func notFound(_ m: String) -> SkeinError { SkeinError(status: 404, m) }
    public static func conflict(_ m: String) -> SkeinError { SkeinError(status: 409, m) }
    public static func tooLarge(_ m: String) -> SkeinError { SkeinError(status: 413, m) }
    public static func unprocessable(_ m: String) -> SkeinError { SkeinError(status: 422, m) }
    /// Not accepted: the request provably never reached the service, safe to retry.
    public static func unavailable(_ m: String) -> SkeinError { SkeinError(status: 503, m) }
    /// Sent, but no answer in time: it may or may not have been applied.
    public static func outcomeUnknown(_ m: String) -> SkeinError { SkeinError(status: 504, m) }
    public static func `internal`(_ m: String) -> SkeinError { SkeinError(status: 500, m) }

    /// The JSON body sent to clients.
    public var body: JSON { .object(fields.merging(["error": .string(message)]) { $1 }) }
}
