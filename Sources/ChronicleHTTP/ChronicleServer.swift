import Chronicle
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle
import TodoApp

/// The HTTP server of `chronicle serve`: the Todo API, event browsing and the static pages, plus (unless
/// told otherwise) the read models and reactors in the same process.
public enum ChronicleServer {
    /// How the server runs.
    public struct Configuration: Sendable {
        /// The address to listen on (default 127.0.0.1).
        public var host = "127.0.0.1"
        /// The port (default 8080; 0 picks a free one).
        public var port = 8080
        /// Whether projectors and reactors run in this process (default true).
        public var runsSubscriptions = true
        /// Serve the pages from this folder instead of the bundled copy (for working on the pages).
        public var publicFolder: String?
        /// The registry behind `GET /metrics` (Prometheus text format); nil: no such route. The caller
        /// bootstraps swift-metrics with a `PrometheusMetricsFactory` on the same registry.
        public var metrics: PrometheusCollectorRegistry?
        /// The admin credential and the host names the server answers for (default: none, loopback names).
        public var access = AccessPolicy()
        /// How many `/events/live` streams may be open at once (default 64); more get 503.
        public var maxLiveStreams = 64
        /// Makes the default configuration.
        public init() {}

        /// Refuses a configuration that would expose the administrative side: listening on anything but
        /// loopback needs an admin credential.
        public func validate() throws(ConfigurationError) {
            if !AccessPolicy.isLoopback(host), access.adminToken?.isEmpty ?? true {
                throw ConfigurationError(
                    "listening on \(host) (not loopback) needs an admin credential: set CHRONICLE_ADMIN_TOKEN or pass --admin-token-file FILE")
            }
        }
    }

    /// A configuration the server refuses to start with.
    public struct ConfigurationError: Error, CustomStringConvertible {
        /// What is wrong and what to do.
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// The router with every route and middleware.
    public static func router(
        service: TodoService, monitor: SubscriptionMonitor, configuration: Configuration, logger: Logger
    ) -> Router<BasicRequestContext> {
        // Every GET route answers HEAD too.
        let router = Router(context: BasicRequestContext.self, options: .autoGenerateHeadEndpoints)
        // Outermost first: metrics and security headers see the final answer, errors included.
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: SecurityHeadersMiddleware())
        router.add(middleware: JSONErrorMiddleware(logger: logger))
        router.add(middleware: LogRequestsMiddleware(.debug))
        router.add(middleware: RequestHeadMiddleware())
        router.add(middleware: AccessMiddleware(policy: configuration.access))
        // Registered before the content-type rule and the pages, which middleware added later does not
        // wrap: a wrong method is a 405 whatever its Content-Type.
        for (path, allowed) in routeMethods { refuseOtherMethods(on: router, path: path, allowed: allowed) }
        router.add(middleware: JSONCommandsOnlyMiddleware())
        if let publicFolder = configuration.publicFolder ?? Bundle.module.resourceURL?.appendingPathComponent("Public").path {
            router.add(middleware: FileMiddleware(publicFolder, searchForIndexHtml: true, logger: logger))
        }
        router.get("/health") { _, _ in JSONBody.response(.ok, ["status": "ok"]) }
        if let registry = configuration.metrics {
            router.get("/metrics") { _, _ in
                Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                    body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
            }
        }
        TodoRoutes(service: service).register(on: router)
        EventRoutes(store: service.store).register(on: router)
        LiveEvents(store: service.store, streams: LiveStreamLimit(maximum: configuration.maxLiveStreams)).register(on: router)
        AdminRoutes(monitor: monitor, store: service.store, checkpoints: service.checkpoints).register(on: router)
        return router
    }

    /// Every route and the methods it takes: any other method on the same path is a 405 naming them.
    /// (Hummingbird matches a literal path before a parameter, so each literal path is listed.) A route
    /// added without its line here answers 404 for other methods; a method added to a route must be added
    /// here too, or Hummingbird stops at start-up with "already has a handler" (caught by every HTTP test).
    static let routeMethods: [(path: String, allowed: [HTTPRequest.Method])] = [
        ("/todo/:id", [.post, .put]), ("/todo/:id/complete", [.post]), ("/todo/:id/abandon", [.post]),
        ("/todo/:id/moveup", [.put]), ("/todo/:id/reopen", [.post]), ("/todo/:id/clear", [.post]),
        ("/todos/outstanding", [.get]), ("/todos/scheduled", [.get]), ("/todos/completed", [.get]), ("/todos/board", [.get]),
        ("/streams", [.get]), ("/streams/:name", [.get]), ("/log", [.get]),
        ("/events/live", [.get]), ("/events/:id", [.get]), ("/health", [.get]), ("/metrics", [.get]),
        ("/admin/api/subscriptions", [.get]), ("/admin/api/subscriptions/:name/:action", [.post]),
        ("/admin/api/history", [.get]),
    ]

    static func refuseOtherMethods(on router: Router<BasicRequestContext>, path: String, allowed: [HTTPRequest.Method]) {
        let allow = (allowed + (allowed.contains(.get) ? [.head] : [])).map(\.rawValue).joined(separator: ", ")
        for method in [HTTPRequest.Method.get, .post, .put, .delete, .patch, .options] where !allowed.contains(method) {
            router.on(RouterPath(path), method: method) { request, _ in
                var response = JSONBody.error(.methodNotAllowed, "\(request.method) is not allowed here; use \(allow)")
                response.headers[.allow] = allow
                return response
            }
        }
    }

    /// The application: the HTTP server and, when configured, the subscriptions as a service beside it.
    public static func application(
        service: TodoService, configuration: Configuration, logger: Logger = Logger(label: "chronicle.http"),
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let monitor = SubscriptionMonitor(runners: service.runners, store: service.store, checkpoints: service.checkpoints)
        var app = Application(
            router: router(service: service, monitor: monitor, configuration: configuration, logger: logger),
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [ParseErrorResponder()],
                    idleTimeout: .nanoseconds(Int64(HTTPLimits.idleTimeout.components.seconds) * 1_000_000_000))),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "Chronicle"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
            logger: logger)
        app.addServices(MonitorService(monitor: monitor), SubscriptionsService(service: service, workers: configuration.runsSubscriptions))
        return app
    }
}

/// Runs the read models and reactors (when `workers`) until graceful shutdown.
public struct SubscriptionsService: Service {
    let service: TodoService
    let workers: Bool

    /// Runs `service`'s subscriptions when `workers` is true; otherwise only what live readers need.
    public init(service: TodoService, workers: Bool) {
        self.service = service
        self.workers = workers
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await service.run(workers: workers)
        }
        // With nothing to run (SQLite without workers) the service must still not end: a service that
        // returns would shut the whole server down.
        try? await gracefulShutdown()
    }
}

/// Samples subscriptions for the admin console until graceful shutdown.
struct MonitorService: Service {
    let monitor: SubscriptionMonitor

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await monitor.run()
        }
    }
}
