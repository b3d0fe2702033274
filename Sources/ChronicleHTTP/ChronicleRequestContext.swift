import Hummingbird
import NIOCore

/// The context of every request the server answers: Hummingbird's basic one, and the address of the
/// client, by which per-client limits (the live feed's) are kept.
public struct ChronicleRequestContext: RequestContext, RemoteAddressRequestContext {
    /// Hummingbird's own part.
    public var coreContext: CoreRequestContextStorage
    /// The client's address (nil where there is no socket: tests through the router).
    public let remoteAddress: SocketAddress?

    /// The context of a request arriving on `source`'s channel.
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// Who the client is for per-client limits: its IP address (a client behind a proxy is the proxy).
    public var clientKey: String { remoteAddress?.ipAddress ?? "unknown" }
}
