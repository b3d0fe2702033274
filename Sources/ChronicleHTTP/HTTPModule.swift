import Chronicle
import ChronicleRuntime
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The web side of an application module: its routes, and its static pages under a path of its own.
///
/// It composes the ``ApplicationModule`` it serves (``application``) rather than re-declaring it: the
/// runtime runs that module's read models, reactors, process managers and commands, and the server adds
/// these routes and pages. ``ChronicleServer`` serves the web side of every module the runtime was made
/// with (`ChronicleRuntime(configuration:modules:logger:)` given HTTP modules). The edge does
/// the rest for every module alike: the JSON body kit (``JSONBody``), `405` for a method a path does not
/// take, errors to statuses (``APIErrorConvertible``, and a store conflict is always a `409`), access
/// rules and metrics.
public protocol HTTPModule: Sendable {
    /// The module this web side serves.
    var application: any ApplicationModule { get }
    /// Adds the module's routes, which may use everything `runtime` owns.
    func addRoutes(to routes: RouteTable, runtime: ChronicleRuntime)
    /// The module's static pages; nil (the default): none.
    var pages: StaticPages? { get }
    /// The commands whose acceptance creates something (an account, an order): `POST /commands/:type`
    /// answers them `201`, every other accepted command `200`. An HTTP policy, so the web side's, not
    /// the bus's. None by default.
    var creatingCommands: [any NamedCommand.Type] { get }
}

extension HTTPModule {
    public var pages: StaticPages? { nil }
    public var creatingCommands: [any NamedCommand.Type] { [] }
    /// The module's name (its application's).
    public var name: String { application.name }
}

extension ChronicleRuntime {
    /// A runtime hosting `modules`: their applications' read models, reactors, process managers and
    /// commands, and, for ``ChronicleServer``, their routes and pages.
    public convenience init(configuration: Configuration, modules: [any HTTPModule], logger: Logger = Logger(label: "chronicle.runtime")) throws {
        try self.init(configuration: configuration, modules: modules.map { WebHosted(web: $0) as any ApplicationModule }, logger: logger)
    }

    /// The web sides of the modules this runtime hosts.
    public var webModules: [any HTTPModule] {
        modules.compactMap { ($0 as? WebHosted)?.web }
    }
}

/// A module hosted with its web side: every requirement is its application's (the one place that
/// forwards them; `WebHostedTests` checks that none falls back to a default).
struct WebHosted: ApplicationModule {
    let web: any HTTPModule
    var name: String { web.application.name }
    var readModels: [any SQLReadModel] { web.application.readModels }
    func reactors(_ context: ModuleContext) -> [any Reactor] { web.application.reactors(context) }
    var processManagers: [any ProcessManager] { web.application.processManagers }
    func registerCommands(on bus: CommandBus, runtime: ChronicleRuntime) throws { try web.application.registerCommands(on: bus, runtime: runtime) }
    func summary(of event: RecordedEvent) -> String? { web.application.summary(of: event) }
}

/// A folder of static pages and the path it is served under: `/<module name>` by convention; the one
/// module whose pages are the site's home page serves them at `/`. A module's routes and its pages
/// should not share a path prefix (`/tally/:counter` would answer `/tally/index.html`).
public struct StaticPages: Sendable {
    /// The folder (its `index.html` answers the path itself).
    public var folder: String
    /// The URL path, `/` or `/name`.
    public var path: String

    /// The pages in `folder`, served under `path`.
    public init(folder: String, path: String) {
        self.folder = folder
        self.path = path
    }

    /// The pages in `folder` (nil when the bundle has none), served under `path`.
    public init?(folder: URL?, path: String) {
        guard let folder else { return nil }
        self.init(folder: folder.path, path: path)
    }
}

/// The routes of the server, collected before they are added to the router, so that the server knows
/// every path and its methods: another method on a known path is a `405` naming the allowed ones.
public final class RouteTable {
    /// A route's handler.
    public typealias Handler = @Sendable (Request, ChronicleRequestContext) async throws -> Response

    struct Route {
        let path: String
        let method: HTTPRequest.Method
        let handler: Handler
    }

    private(set) var routes: [Route] = []

    init() {}

    /// Answers `method` on `path` (`:name` for a parameter) with `handler`.
    public func on(_ path: String, method: HTTPRequest.Method, _ handler: @escaping Handler) {
        routes.append(Route(path: path, method: method, handler: handler))
    }

    /// Answers GET (and HEAD) on `path`.
    public func get(_ path: String, _ handler: @escaping Handler) { on(path, method: .get, handler) }
    /// Answers POST on `path`.
    public func post(_ path: String, _ handler: @escaping Handler) { on(path, method: .post, handler) }
    /// Answers PUT on `path`.
    public func put(_ path: String, _ handler: @escaping Handler) { on(path, method: .put, handler) }
    /// Answers DELETE on `path`.
    public func delete(_ path: String, _ handler: @escaping Handler) { on(path, method: .delete, handler) }

    /// Every path and the methods it takes, in the order the paths were first added.
    var methodsByPath: [(path: String, allowed: [HTTPRequest.Method])] {
        var order: [String] = []
        var allowed: [String: [HTTPRequest.Method]] = [:]
        for route in routes {
            if allowed[route.path] == nil { order.append(route.path) }
            allowed[route.path, default: []].append(route.method)
        }
        return order.map { ($0, allowed[$0] ?? []) }
    }
}

extension HTTPModule where Self: ApplicationModule {
    /// A module that is its own web side.
    public var application: any ApplicationModule { self }
}

/// A module with no web side (a read model or a reactor of its own), hosted beside modules that have one.
public struct ApplicationOnly: HTTPModule {
    public let application: any ApplicationModule

    /// `application`, with no routes and no pages.
    public init(_ application: any ApplicationModule) {
        self.application = application
    }

    public func addRoutes(to routes: RouteTable, runtime: ChronicleRuntime) {}
}
