import Chronicle
import Logging

/// One application hosted by a ``ChronicleRuntime``: what it declares, the runtime runs.
///
/// A module names its read models (SQL that every backend runs, each with its own table and checkpoint)
/// and its reactors. It does not open a database, build a store or start a subscription: the runtime of
/// the process does that once for every module, so one module's append wakes every other module's
/// subscriptions at once.
///
/// ```swift
/// struct Library: ApplicationModule {
///     let name = "library"
///     var readModels: [any SQLReadModel] { [BooksOnLoan()] }
///     func reactors(_ context: ModuleContext) -> [any Reactor] { [OverdueReminder(store: context.store)] }
/// }
/// ```
public protocol ApplicationModule: Sendable {
    /// The module's unique, stable name (lowercase; also the path its web pages are served under).
    var name: String { get }
    /// The read models the runtime keeps up to date (none by default).
    var readModels: [any SQLReadModel] { get }
    /// The reactors the runtime runs, given what they may use (none by default).
    func reactors(_ context: ModuleContext) -> [any Reactor]
    /// The process managers the runtime runs (none by default): each keeps its processes' state and
    /// pending commands with its checkpoint, and sends its commands through the runtime's ``CommandBus``.
    var processManagers: [any ProcessManager] { get }
    /// Registers the module's commands on the runtime's ``CommandBus`` (none by default): the bus is
    /// what `POST /commands/:type` and `chronicle send` reach.
    func registerCommands(on bus: CommandBus, runtime: ChronicleRuntime) throws
    /// A few words that tell a person which stream `event` belongs to, when the event carries them (a
    /// todo's title); the admin console's streams list shows the newest one. Nil by default.
    func summary(of event: RecordedEvent) -> String?
    /// The stream categories whose events the module's commands write and its read models, reactors and
    /// processes decode: other writers (KurrentDB protocol clients) may read them, never write them. By
    /// default, the categories of the module's ``CategoryReadModel``s.
    var ownedCategories: Set<String> { get }
}

extension ApplicationModule {
    public var readModels: [any SQLReadModel] { [] }
    public func reactors(_ context: ModuleContext) -> [any Reactor] { [] }
    public var processManagers: [any ProcessManager] { [] }
    public func registerCommands(on bus: CommandBus, runtime: ChronicleRuntime) throws {}
    public func summary(of event: RecordedEvent) -> String? { nil }
    public var ownedCategories: Set<String> { Set(readModels.compactMap { ($0 as? any CategoryReadModel)?.category }) }
}

/// What the runtime gives a module's reactors: the process's one event store, and a logger.
public struct ModuleContext: Sendable {
    /// The event store of the process (reactors read from it and append to it).
    public let store: any EventStore
    /// A logger labelled for the module.
    public let logger: Logger

    /// Makes a context.
    public init(store: any EventStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }
}
