import Chronicle
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle
import ChronicleRuntime

/// The HTTP server of `chronicle serve`: every module's API and pages, event browsing, the live feed,
/// the admin console, health and metrics, with the runtime's subscriptions beside it.
public enum ChronicleServer {
    /// How the server runs.
    public struct Configuration: Sendable {
        /// The address to listen on (default 127.0.0.1).
        public var host = "127.0.0.1"
        /// The port (default 8080; 0 picks a free one).
        public var port = 8080
        /// Serve the pages at `/` from this folder instead of the home module's bundled copy (for working on them).
        public var publicFolder: String?
        /// The registry behind `GET /metrics` (Prometheus text format); nil: no such route. The caller
        /// bootstraps swift-metrics with a `PrometheusMetricsFactory` on the same registry.
        public var metrics: PrometheusCollectorRegistry?
        /// The admin credential and the host names the server answers for (default: none, loopback names).
        public var access = AccessPolicy()
        /// How many `/events/live` streams may be open at once (default 64); more get 503.
        public var maxLiveStreams = 64
        /// How many `/events/live` streams one client address may hold open at once (default 8); more get 429.
        public var maxLiveStreamsPerClient = 8
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

    /// The router with every route and middleware: the edge's own routes (health, metrics, event browsing,
    /// the live feed, the admin API) and every ``HTTPModule``'s, with their pages.
    public static func router(
        runtime: ChronicleRuntime, monitor: SubscriptionMonitor, configuration: Configuration, logger: Logger
    ) -> Router<ChronicleRequestContext> {
        let modules = runtime.webModules
        let routes = RouteTable()
        // Liveness: the process answers. Readiness: the database is prepared and answers now.
        routes.get("/health") { _, _ in JSONBody.response(.ok, ["status": "ok"]) }
        routes.get("/health/ready") { _, _ in
            do {
                try await runtime.checkReady()
            } catch {
                var response = JSONBody.error(.serviceUnavailable, "not ready: \(error)")
                response.headers[.retryAfter] = "5"
                return response
            }
            return JSONBody.response(.ok, ["status": "ready"])
        }
        if let registry = configuration.metrics {
            routes.get("/metrics") { _, _ in
                Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                    body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
            }
        }
        // The log's routes, and the same under /admin/api for the console (behind the credential).
        let access = configuration.access
        let live = LiveEvents(
            store: runtime.store, streams: LiveStreamLimit(maximum: configuration.maxLiveStreams, perClient: configuration.maxLiveStreamsPerClient),
            thinForAnonymous: { request in access.adminToken != nil && !access.isAuthorized(request) })
        for prefix in ["", "/admin/api"] {
            EventRoutes(store: runtime.store).register(on: routes, prefix: prefix)
            live.register(on: routes, prefix: prefix)
        }
        AdminRoutes(
            monitor: monitor, store: runtime.store, checkpoints: runtime.checkpoints,
            processes: Dictionary(uniqueKeysWithValues: runtime.subscriptions.compactMap { s in s.processes.map { (s.name, $0) } }),
            reverts: runtime.reverts, runtime: runtime
        ).register(on: routes)
        CommandRoutes(bus: runtime.bus, creating: Set(modules.flatMap(\.creatingCommands).map { $0.typeName })).register(on: routes)
        for module in modules { module.addRoutes(to: routes, runtime: runtime) }

        // Every GET route answers HEAD too.
        let router = Router(context: ChronicleRequestContext.self, options: .autoGenerateHeadEndpoints)
        // Outermost first: metrics and security headers see the final answer, errors included.
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: SecurityHeadersMiddleware())
        router.add(middleware: JSONErrorMiddleware(logger: logger))
        router.add(middleware: LogRequestsMiddleware(.debug))
        router.add(middleware: RequestHeadMiddleware())
        router.add(middleware: AccessMiddleware(policy: configuration.access))
        // Registered before the content-type rule and the pages, which middleware added later does not
        // wrap: a wrong method is a 405 whatever its Content-Type. (Each path is known from the table, so
        // no route can be forgotten here.)
        for (path, allowed) in routes.methodsByPath { refuseOtherMethods(on: router, path: path, allowed: allowed) }
        router.add(middleware: JSONCommandsOnlyMiddleware())
        for pages in pageFolders(modules, configuration: configuration) {
            router.add(
                middleware: FileMiddleware(
                    pages.folder, urlBasePath: pages.path == "/" ? nil : pages.path, searchForIndexHtml: true, logger: logger))
        }
        // Nothing touches the database before the runtime has prepared it (migrations, tables).
        router.add(middleware: ReadinessMiddleware(runtime: runtime))
        for route in routes.routes {
            // Authorised by the route that answers, not only by the path's spelling (AccessMiddleware).
            let handler = AccessPolicy.needsCredential(path: route.path) ? configuration.access.guarding(route.handler) : route.handler
            router.on(RouterPath(route.path), method: route.method, use: handler)
        }
        return router
    }

    /// The folders of static pages: the edge's own (the admin console, under `/admin/`), then each
    /// module's; `publicFolder` replaces the folder served at `/`.
    static func pageFolders(_ modules: [any HTTPModule], configuration: Configuration) -> [StaticPages] {
        var folders: [StaticPages] = []
        if let own = StaticPages(folder: Bundle.module.resourceURL?.appendingPathComponent("Public"), path: "/") { folders.append(own) }
        for module in modules {
            guard var pages = module.pages else { continue }
            if pages.path == "/", let replacement = configuration.publicFolder { pages.folder = replacement }
            folders.append(pages)
        }
        return folders
    }

    static func refuseOtherMethods(on router: Router<ChronicleRequestContext>, path: String, allowed: [HTTPRequest.Method]) {
        let allow = (allowed + (allowed.contains(.get) ? [.head] : [])).map(\.rawValue).joined(separator: ", ")
        for method in [HTTPRequest.Method.get, .post, .put, .delete, .patch, .options] where !allowed.contains(method) {
            router.on(RouterPath(path), method: method) { request, _ in
                var response = JSONBody.error(.methodNotAllowed, "\(request.method) is not allowed here; use \(allow)")
                response.headers[.allow] = allow
                return response
            }
        }
    }

    /// The application: the HTTP server of `runtime`'s modules, with the runtime (its subscriptions) as
    /// a service beside it. `dependencies` run before the runtime and stop after it: the PostgreSQL client.
    public static func application(
        runtime: ChronicleRuntime, dependencies: [any Service] = [], edges: [any Service] = [], configuration: Configuration,
        logger: Logger = Logger(label: "chronicle.http"), onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let monitor = SubscriptionMonitor(runners: runtime.runners, store: runtime.store, checkpoints: runtime.checkpoints)
        var app = Application(
            router: router(runtime: runtime, monitor: monitor, configuration: configuration, logger: logger),
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [ParseErrorResponder()],
                    idleTimeout: .nanoseconds(Int64(HTTPLimits.idleTimeout.components.seconds) * 1_000_000_000))),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "Chronicle"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
            logger: logger)
        // Shut down in reverse: the server and the other edges (`edges`: the gRPC port) first, then the
        // monitor, the runtime, and the dependencies last.
        app.addServices(dependencies)
        app.addServices(runtime, MonitorService(monitor: monitor))
        app.addServices(edges)
        return app
    }
}

/// Holds a request until the runtime has prepared the database; a database that cannot be prepared
/// is a 503 (through ``JSONErrorMiddleware``).
struct ReadinessMiddleware<Context: RequestContext>: RouterMiddleware {
    let runtime: ChronicleRuntime

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        // The health routes answer for themselves, whether or not the database can be prepared.
        if !request.uri.path.hasPrefix("/health") { try await runtime.prepare() }
        return try await next(request, context)
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
