import Hummingbird
import NIOCore

/// Hummingbird's basic context plus the client's address (failed-login throttling is per
/// address).
struct GatewayRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The client's IP address as text ("" when unknown).
    var clientAddress: String { remoteAddress?.ipAddress ?? "" }
}
