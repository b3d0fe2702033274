import Chronicle
import ChronicleKurrentProtocol
import ChronicleRuntime
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// KurrentDB's v1 gRPC client protocol on a port of its own, beside the HTTP one: the official
/// KurrentDB and EventStoreDB clients append, read and subscribe through it, on either backend.
///
/// Served: `Streams` (Append, BatchAppend, Read with catch-up subscriptions and filters, Delete,
/// Tombstone), `Gossip.Read` (this one node, the leader), `ServerFeatures.GetSupportedMethods`,
/// `PersistentSubscriptions.List` (none yet). Any other method answers `UNIMPLEMENTED`.
public struct KurrentServer: Service {
    /// Where and how the port listens.
    public struct Configuration: Sendable {
        /// The address to listen on.
        public var host = "127.0.0.1"
        /// The port (0 picks a free one).
        public var port = 2113
        /// PEM files of the certificate chain and its private key: with both, the port speaks TLS.
        public var tls: (certificateChain: String, privateKey: String)?
        /// The admin credential every call must carry (basic authentication, any user name), if any.
        public var adminToken: String?
        /// Limits and protected streams.
        public var policy = KurrentPolicy()
        /// The largest message a client may send: over it, the transport resets the call before any
        /// handler runs. Above the append limit, so that an append too large is answered with
        /// KurrentDB's status and text.
        public var maxMessageSize = 32 * 1024 * 1024

        /// The defaults: plaintext on loopback port 2113, no credential.
        public init() {}

        /// Refuses what would expose the store: off the loopback, the port needs TLS and a credential.
        public func validate() throws(KurrentServerError) {
            if !AdminCredential.isLoopback(host) {
                guard tls != nil, adminToken != nil else {
                    throw KurrentServerError(
                        "the gRPC port listens on \(host), off the loopback: give it --tls-certificate and --tls-key, and an admin credential (CHRONICLE_ADMIN_TOKEN or --admin-token-file)"
                    )
                }
            }
        }
    }

    let configuration: Configuration
    let runtime: ChronicleRuntime
    let logger: Logger
    let onListening: @Sendable (Int) async -> Void

    /// A server for `runtime`'s store; `onListening` is told the port once it listens.
    public init(
        configuration: Configuration, runtime: ChronicleRuntime, logger: Logger = Logger(label: "chronicle.grpc"),
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.runtime = runtime
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        let security: HTTP2ServerTransport.Posix.TransportSecurity =
            if let tls = configuration.tls {
                .tls(certificateChain: [.file(path: tls.certificateChain, format: .pem)], privateKey: .file(path: tls.privateKey, format: .pem))
            } else {
                .plaintext
            }
        var transportConfig = HTTP2ServerTransport.Posix.Config.defaults
        transportConfig.rpc.maxRequestPayloadSize = configuration.maxMessageSize
        // Many subscriptions share one connection in some clients; each is a stream.
        transportConfig.http2.maxConcurrentStreams = 4_096
        let transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: configuration.host == "localhost" ? "127.0.0.1" : configuration.host, port: configuration.port),
            transportSecurity: security, config: transportConfig)
        let policy = configuration.policy
        let closing = ClosingSignal()
        let services: [any RegistrableRPCService] = [
            StreamsService(
                store: runtime.store, tail: SharedLogReads(runtime.store), policy: policy, subscriptions: SubscriptionGate(limit: policy.maxSubscriptions),
                closing: closing,
                logger: logger),
            GossipService(host: configuration.host, port: configuration.port, transport: transport),
            ServerFeaturesService(),
            PersistentSubscriptionsService(),
        ]
        let server = GRPCServer(
            transport: transport, services: services,
            interceptors: [GatekeeperInterceptor(credential: configuration.adminToken.map(AdminCredential.init(token:)), runtime: runtime)])
        let serving = Task { try await server.serve() }
        try await withTaskCancellationHandler {
            if let address = try await transport.listeningAddress.ipv4 {
                logger.notice("serving KurrentDB's gRPC protocol", metadata: ["address": "\(address.host):\(address.port)", "tls": "\(configuration.tls != nil)"])
                await onListening(address.port)
            }
            // Until graceful shutdown: then no new call is taken, subscriptions end (UNAVAILABLE, as a
            // KurrentDB node that stops), and calls in flight have `closingGrace` to finish.
            try? await gracefulShutdown()
            closing.close()
            server.beginGracefulShutdown()
            let deadline = Task {
                try await Task.sleep(for: Self.closingGrace)
                serving.cancel()
            }
            defer { deadline.cancel() }
            try await serving.value
        } onCancel: {
            serving.cancel()
        }
    }

    /// How long calls in flight may take to finish once the server stops.
    static let closingGrace: Duration = .seconds(5)
}

/// Raised once when the server stops: live subscriptions end.
final class ClosingSignal: Sendable {
    private let closed = Atomic<Bool>(false)
    let signal = PositionSignal()

    var isClosed: Bool { closed.load(ordering: .relaxed) }

    func close() {
        closed.store(true, ordering: .relaxed)
        signal.announce(GlobalPosition(rawValue: 1))
    }

    func check() throws(RPCError) {
        if isClosed { throw RPCError(code: .unavailable, message: "Server is shutting down") }
    }
}

/// A configuration the gRPC port cannot serve safely.
public struct KurrentServerError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Every call carries the admin credential when one is configured (`UNAUTHENTICATED` otherwise), and
/// waits until the runtime has prepared the database.
struct GatekeeperInterceptor: ServerInterceptor {
    let credential: AdminCredential?
    let runtime: ChronicleRuntime

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let method = context.descriptor.fullyQualifiedMethod
        if let credential {
            let header = request.metadata[stringValues: "authorization"].first(where: { _ in true })
            guard let header, credential.isCarried(by: header) else {
                Counter(label: "chronicle_grpc_calls_total", dimensions: [("method", method), ("outcome", "unauthenticated")]).increment()
                throw RPCError(code: .unauthenticated, message: "Bad username or password; the admin credential is required")
            }
        }
        Counter(label: "chronicle_grpc_calls_total", dimensions: [("method", method), ("outcome", "accepted")]).increment()
        do { try await runtime.prepare() } catch {
            throw RPCError(code: .unavailable, message: "the database is not ready: \(error)")
        }
        return try await next(request, context)
    }
}

/// One node, the leader, at the address the client used.
struct GossipService: EventStore_Client_Gossip_Gossip.SimpleServiceProtocol {
    let host: String
    let port: Int
    let transport: HTTP2ServerTransport.Posix
    let instance = UUID()

    func read(request: EventStore_Client_Empty, context: ServerContext) async throws -> EventStore_Client_Gossip_ClusterInfo {
        var member = EventStore_Client_Gossip_MemberInfo()
        member.instanceID = Wire.uuid(instance, structured: false)
        member.timeStamp = Wire.ticks(Date())
        member.state = .leader
        member.isAlive = true
        var endpoint = EventStore_Client_Gossip_EndPoint()
        // The address the client reached this server at (its view of the local end of the connection).
        let local = context.localPeer
        endpoint.address = Self.host(ofPeer: local) ?? host
        endpoint.port = UInt32((try? await transport.listeningAddress.ipv4?.port) ?? port)
        member.httpEndPoint = endpoint
        var info = EventStore_Client_Gossip_ClusterInfo()
        info.members = [member]
        return info
    }

    /// The host of a peer description `ipv4:127.0.0.1:2113` or `ipv6:[::1]:2113`.
    static func host(ofPeer peer: String) -> String? {
        if peer.hasPrefix("ipv4:") {
            let rest = peer.dropFirst(5)
            return rest.lastIndex(of: ":").map { String(rest[..<$0]) }
        }
        if peer.hasPrefix("ipv6:["), let close = peer.firstIndex(of: "]") {
            return String(peer[peer.index(peer.startIndex, offsetBy: 6)..<close])
        }
        return nil
    }
}

/// What is implemented, for the clients that ask before using a method.
struct ServerFeaturesService: EventStore_Client_ServerFeatures_ServerFeatures.SimpleServiceProtocol {
    static let methods: [(service: String, method: String, features: [String])] = [
        ("event_store.client.streams.streams", "read", ["all", "stream", "filter"]),
        ("event_store.client.streams.streams", "append", []),
        ("event_store.client.streams.streams", "batchappend", []),
        ("event_store.client.streams.streams", "delete", []),
        ("event_store.client.streams.streams", "tombstone", []),
        ("event_store.client.persistent_subscriptions.persistentsubscriptions", "list", []),
        ("event_store.client.gossip.gossip", "read", []),
        ("event_store.client.server_features.serverfeatures", "getsupportedmethods", []),
    ]

    func getSupportedMethods(request: EventStore_Client_Empty, context: ServerContext) async throws
        -> EventStore_Client_ServerFeatures_SupportedMethods
    {
        var answer = EventStore_Client_ServerFeatures_SupportedMethods()
        answer.eventStoreServerVersion = "24.10.0"
        answer.methods = Self.methods.map { entry in
            var method = EventStore_Client_ServerFeatures_SupportedMethod()
            method.serviceName = entry.service
            method.methodName = entry.method
            method.features = entry.features
            return method
        }
        return answer
    }
}

/// Persistent subscriptions: none yet. `List` answers that there are none (clients list on start);
/// every other method is `UNIMPLEMENTED`.
struct PersistentSubscriptionsService: EventStore_Client_PersistentSubscriptions_PersistentSubscriptions.SimpleServiceProtocol {
    typealias Service = EventStore_Client_PersistentSubscriptions_PersistentSubscriptions
    static let notYet = RPCError(code: .unimplemented, message: "Chronicle keeps no persistent subscriptions yet")

    func list(request: EventStore_Client_PersistentSubscriptions_ListReq, context: ServerContext) async throws
        -> EventStore_Client_PersistentSubscriptions_ListResp
    {
        EventStore_Client_PersistentSubscriptions_ListResp()
    }

    func create(request: EventStore_Client_PersistentSubscriptions_CreateReq, context: ServerContext) async throws
        -> EventStore_Client_PersistentSubscriptions_CreateResp
    { throw Self.notYet }

    func update(request: EventStore_Client_PersistentSubscriptions_UpdateReq, context: ServerContext) async throws
        -> EventStore_Client_PersistentSubscriptions_UpdateResp
    { throw Self.notYet }

    func delete(request: EventStore_Client_PersistentSubscriptions_DeleteReq, context: ServerContext) async throws
        -> EventStore_Client_PersistentSubscriptions_DeleteResp
    { throw Self.notYet }

    func read(
        request: RPCAsyncSequence<EventStore_Client_PersistentSubscriptions_ReadReq, any Error>,
        response: RPCWriter<EventStore_Client_PersistentSubscriptions_ReadResp>, context: ServerContext
    ) async throws { throw Self.notYet }

    func getInfo(request: EventStore_Client_PersistentSubscriptions_GetInfoReq, context: ServerContext) async throws
        -> EventStore_Client_PersistentSubscriptions_GetInfoResp
    { throw Self.notYet }

    func replayParked(request: EventStore_Client_PersistentSubscriptions_ReplayParkedReq, context: ServerContext) async throws
        -> EventStore_Client_PersistentSubscriptions_ReplayParkedResp
    { throw Self.notYet }

    func restartSubsystem(request: EventStore_Client_Empty, context: ServerContext) async throws -> EventStore_Client_Empty {
        throw Self.notYet
    }
}
