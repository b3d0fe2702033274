import Chronicle
import ChroniclePostgres
import ChronicleSQLite
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The host of one process: the one event store, checkpoint store and SQL connection of the process, and
/// every subscription of every registered ``ApplicationModule``.
///
/// One runtime per process means one append signal: an append made for one module wakes every module's
/// subscriptions at once, without waiting for a poll. On SQLite the runtime runs every subscription; on
/// PostgreSQL it runs those this process comes to own (``SubscriptionOwnership``), so that any number
/// of processes share them, and it listens for appends made by other processes.
///
/// It is a swift-service-lifecycle `Service`: ``run()`` prepares the database (PostgreSQL migrations, the
/// read models' tables), then runs the subscriptions until graceful shutdown. On PostgreSQL, add the
/// database's `client` to the same service group, before the runtime, so that it stops last.
public final class ChronicleRuntime: Service, Sendable {
    /// Where the events, checkpoints and read models live.
    public enum Backend: Sendable {
        /// One SQLite file (created if missing).
        case sqlite(path: String, configuration: SQLiteDatabase.Configuration = .init())
        /// A PostgreSQL database; its client runs elsewhere (in the same service group, or a task).
        case postgres(PostgresDatabase)
    }

    /// How the runtime is set up.
    public struct Configuration: Sendable {
        /// The database.
        public var backend: Backend
        /// Whether this process runs subscriptions (default true). Without, it only serves: its runners
        /// stand by and show their stored checkpoints.
        public var runsSubscriptions = true
        /// Subscription settings (batch size, poll interval, retry delays).
        public var subscriptions = SubscriptionRunner.Configuration()
        /// The clock process managers' deadlines fall due by (the wall clock; tests pass a
        /// ``ManualProcessClock``).
        public var clock: any ProcessClock = SystemProcessClock()

        /// A configuration for `backend`.
        public init(backend: Backend) {
            self.backend = backend
        }

        /// A configuration for the SQLite file at `path`.
        public init(sqlitePath path: String) {
            self.init(backend: .sqlite(path: path))
        }
    }

    /// One subscription of one module.
    public struct Subscription: Sendable {
        /// The module that declared it.
        public let module: String
        /// Its runner (status, controls, progress).
        public let runner: SubscriptionRunner
        /// Its projection, for a read model; nil for a reactor or a process manager.
        public let projection: (any Projection)?
        /// Its processes, for a process manager; nil otherwise.
        public var processes: (any ProcessInspecting)? = nil
        /// Its read model, for a projection; nil otherwise.
        public var model: (any SQLReadModel)? = nil
        /// Its name (also its checkpoint's).
        public var name: String { runner.name }
    }

    /// A configuration the runtime refuses.
    public struct ConfigurationError: Error, CustomStringConvertible {
        /// What is wrong.
        public let description: String
    }

    /// How the runtime was set up.
    public let configuration: Configuration
    /// The modules, in registration order.
    public let modules: [any ApplicationModule]
    /// Every module's ``ApplicationModule/ownedCategories``.
    public var ownedCategories: Set<String> { modules.reduce(into: []) { $0.formUnion($1.ownedCategories) } }
    /// The event store of the process.
    public let store: any EventStore
    /// The checkpoints (unfenced: for reading them).
    public let checkpoints: any CheckpointStore
    /// Answers read-model queries.
    public let queries: any SQLQuerying
    /// The deciders' snapshots (a cache; see ``SnapshotStore``).
    public let snapshots: any SnapshotStore
    /// Every module's commands, by type name.
    public let bus: CommandBus
    /// How each module's streams are reverted, by category (modules register in
    /// ``ApplicationModule/registerCommands(on:runtime:)``).
    public let reverts = RevertRegistry()
    /// Every subscription: each module's read models, then its reactors, module by module.
    public let subscriptions: [Subscription]
    private let ownerships: [SubscriptionOwnership]
    /// The database, whichever it is.
    let backend: any RuntimeBackend
    /// Rebuilds under way and read models built as of past positions.
    /// Rebuilds of its read models and builds of them at past positions.
    public let replays: ReadModelReplays
    private let preparation = Mutex<Task<Void, any Error>?>(nil)
    let logger: Logger

    /// Opens the database and sets up every module's subscriptions; nothing runs until ``run()``.
    /// - Throws: ``ConfigurationError`` when two modules share a name or two subscriptions share a name, or
    ///   a process manager sends a command type no module handles;
    ///   ``CommandBusError/typeRegisteredTwice(_:)`` when two modules register one command type.
    public init(configuration: Configuration, modules: [any ApplicationModule], logger: Logger = Logger(label: "chronicle.runtime")) throws {
        self.configuration = configuration
        self.modules = modules
        self.logger = logger
        try Self.checkNames(modules)
        let bus = CommandBus()
        self.bus = bus
        var subscriptions: [Subscription] = []
        var ownerships: [SubscriptionOwnership] = []
        let backend: any RuntimeBackend =
            switch configuration.backend {
            case .sqlite(let path, let sqliteConfiguration): SQLiteBackend(try SQLiteDatabase(path: path, configuration: sqliteConfiguration))
            case .postgres(let database): PostgresBackend(database)
            }
        self.backend = backend
        (store, checkpoints, queries, snapshots) = (backend.store, backend.checkpoints, backend.queries, backend.snapshots)
        // Subscriptions woken by one append read the new events once, together.
        let reads = SharedLogReads(backend.store)
        func add(
            _ module: any ApplicationModule, _ kind: SubscriptionStatus.Kind, fence: SubscriptionFence?,
            projection: (any Projection)? = nil, model: (any SQLReadModel)? = nil, processes: (any ProcessInspecting)? = nil,
            _ consumer: any EventConsumer
        ) {
            let runner = SubscriptionRunner(consumer, kind: kind, store: reads, configuration: configuration.subscriptions, logger: logger)
            subscriptions.append(Subscription(module: module.name, runner: runner, projection: projection, processes: processes, model: model))
            // Where subscriptions are owned (PostgreSQL), every write of one checks this process still owns it.
            if let fence, let ownership = backend.ownership(of: runner, fence: fence, logger: logger) { ownerships.append(ownership) }
        }
        for module in modules {
            for model in module.readModels {
                let writes = backend.writes(of: model.name)
                let projection = Self.projection(model, writes.storage)
                add(module, .projection, fence: writes.fence, projection: projection, model: model, projection)
            }
            for reactor in module.reactors(ModuleContext(store: backend.store, logger: logger)) {
                let writes = backend.writes(of: reactor.name)
                add(module, .reactor, fence: writes.fence, Self.consumer(reactor, checkpoints: writes.checkpoints))
            }
            for manager in module.processManagers {
                let writes = backend.writes(of: manager.name)
                let consumer = Self.consumer(manager, writes.storage, bus, configuration.clock, logger)
                add(module, .processManager, fence: writes.fence, processes: consumer, consumer)
            }
        }
        self.subscriptions = subscriptions
        self.ownerships = ownerships
        replays = ReadModelReplays(store: backend.store, backend: backend, subscriptions: subscriptions, modules: modules, logger: logger)
        try Self.checkNames(subscriptions)
        for module in modules { try module.registerCommands(on: bus, runtime: self) }
        try Self.checkCommands(of: modules, on: bus)
    }

    /// A process manager may send only commands some module handles: one it could not send is a mistake
    /// of the program, refused when the runtime is made rather than faulting a subscription later.
    private static func checkCommands(of modules: [any ApplicationModule], on bus: CommandBus) throws {
        for module in modules {
            for manager in module.processManagers {
                for command in manager.sends where !bus.handles(command.typeName) {
                    throw ConfigurationError(
                        description: "the process manager \"\(manager.name)\" sends \(command.typeName), which no module handles")
                }
            }
        }
    }

    // Generic, so that a module's `any SQLReadModel` and `any Reactor` open into the concrete types.
    private static func projection(_ model: some SQLReadModel, _ storage: any SubscriptionStorage) -> any Projection {
        SQLProjection(model, storage: storage)
    }

    private static func consumer(_ reactor: some Reactor, checkpoints: any CheckpointStore) -> any EventConsumer {
        ReactorConsumer(reactor, checkpoints: checkpoints)
    }

    private static func consumer(
        _ manager: some ProcessManager, _ storage: any SubscriptionStorage, _ bus: CommandBus, _ clock: any ProcessClock, _ logger: Logger
    ) -> any EventConsumer & ProcessInspecting {
        ProcessManagerConsumer(manager, storage: storage, bus: bus, clock: clock, logger: logger)
    }

    /// Every runner, in the order of ``subscriptions``.
    public var runners: [SubscriptionRunner] { subscriptions.map(\.runner) }

    /// The subscription named `name`, if any.
    public func subscription(named name: String) -> Subscription? {
        subscriptions.first { $0.name == name }
    }

    /// The name of the read model `query` reads: the one its `readModel` names, or the one read model
    /// of its type that a module registered.
    /// - Throws: ``ConfigurationError`` when no module registered one (or several, and the query names none).
    public func readModelName<Model, Row>(of query: ReadModelQuery<Model, Row>) throws -> String {
        if let name = query.readModel { return name }
        let found = subscriptions.compactMap(\.model).filter { $0 is Model }
        guard found.count == 1 else {
            throw ConfigurationError(
                description: "a query of \(Model.self) needs one read model of that type; \(found.count) are registered\(found.isEmpty ? "" : ": name it in the query")")
        }
        return found[0].name
    }

    /// The runner of the subscription named `name`, if any.
    public func runner(named name: String) -> SubscriptionRunner? {
        subscription(named: name)?.runner
    }

    /// Prepares the database once (later calls wait for the first): on PostgreSQL the migrations, then
    /// every read model's tables. A failure is not kept: the next call tries again.
    public func prepare() async throws {
        let task = preparation.withLock { task in
            if let task { return task }
            let started = Task { try await self.prepareOnce() }
            task = started
            return started
        }
        try await task.value
    }

    private func prepareOnce() async throws {
        do {
            try await backend.prepare()
            for case let projection? in subscriptions.map(\.projection) { try await projection.prepare() }
            for case let processes? in subscriptions.map(\.processes) { try await processes.prepare() }
            await replays.sweepScratch()
        } catch {
            preparation.withLock { $0 = nil }
            throw error
        }
    }

    /// Whether this process can serve requests now: the database is prepared and answers (within 3 s).
    /// Throws why not: ``EventStoreError/unavailable(_:)`` while storage is away.
    public func checkReady() async throws {
        let check: @Sendable () async throws -> Void = {
            try await self.prepare()
            _ = try await self.store.headPosition()
        }
        try await backend.ready(check)
    }

    /// Prepares the database, then runs until graceful shutdown or cancellation: every subscription this
    /// process runs (on PostgreSQL, those it owns) and, on PostgreSQL, the listener that turns other
    /// processes' appends into wake-ups.
    public func run() async throws {
        try await prepare()
        await cancelWhenGracefulShutdown {
            await self.runSubscriptions()
        }
    }

    private func runSubscriptions() async {
        await withTaskGroup(of: Void.self) { group in
            let listener = backend.listener
            if let listener { group.addTask { await listener() } }
            guard configuration.runsSubscriptions else {
                for runner in runners { runner.markStandby() }
                // With nothing else to run (SQLite) the service must still not end: a service that returns
                // would shut the whole process down.
                if listener == nil { group.addTask { await Self.waitForCancellation() } }
                return
            }
            if ownerships.isEmpty {
                for runner in runners { group.addTask { await runner.run() } }
                if runners.isEmpty { group.addTask { await Self.waitForCancellation() } }
            } else {
                for ownership in ownerships { group.addTask { await ownership.run() } }
            }
        }
    }

    private static func waitForCancellation() async {
        while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
    }

    /// Waits until the read model `name` has reached `position` (whichever process runs it), or `timeout`
    /// passes; answers whether it did. Woken at once by this process's runner; polls (every 50 ms) for
    /// a runner in another process.
    public func waitForReadModel(_ name: String, toReach position: GlobalPosition, timeout: Duration) async -> Bool {
        guard let subscription = subscription(named: name), let projection = subscription.projection else { return false }
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            if let checkpoint = try? await projection.checkpoint(), checkpoint >= position { return true }
            let now = ContinuousClock.now
            if now >= deadline || Task.isCancelled { return false }
            await subscription.runner.progress.wait(
                after: GlobalPosition(rawValue: position.rawValue - 1), timeout: min(.milliseconds(50), now.duration(to: deadline)))
        }
    }

    /// The stored checkpoint of the subscription `name` (``GlobalPosition/start`` for an unknown name).
    public func checkpoint(of name: String) async throws -> GlobalPosition {
        try await checkpoints.checkpoint(for: name)
    }

    private static func checkNames(_ modules: [any ApplicationModule]) throws {
        var seen = Set<String>()
        for module in modules where !seen.insert(module.name).inserted {
            throw ConfigurationError(description: "two modules are named \"\(module.name)\"")
        }
    }

    private static func checkNames(_ subscriptions: [Subscription]) throws {
        var seen: [String: String] = [:]
        for subscription in subscriptions {
            if let other = seen.updateValue(subscription.module, forKey: subscription.name) {
                throw ConfigurationError(
                    description: "modules \"\(other)\" and \"\(subscription.module)\" both declare a subscription named \"\(subscription.name)\"")
            }
        }
    }
}
