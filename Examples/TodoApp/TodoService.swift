import Chronicle
import ChroniclePostgres
import ChronicleSQLite
import Foundation
import Logging
import TodoDomain

/// The Todo application on one database: the store, the command handler, the four read models and the
/// notifier, each read model and the notifier run by its own ``SubscriptionRunner``.
///
/// On SQLite one process runs everything. On PostgreSQL any number of processes may run the
/// subscriptions: each is owned by one of them at a time (``SubscriptionOwnership``).
public final class TodoService: Sendable {
    /// Where the events, checkpoints and read models live.
    public enum Backend: Sendable {
        /// One SQLite file (created if missing).
        case sqlite(path: String, configuration: SQLiteDatabase.Configuration = .init())
        /// A PostgreSQL database (migrated, its client running).
        case postgres(PostgresDatabase)
    }

    /// How the service is set up.
    public struct Configuration: Sendable {
        /// The database.
        public var backend: Backend
        /// The mailbox file; default: beside the SQLite file (`.mailbox` instead of its extension), or
        /// `chronicle.mailbox` in the current directory on PostgreSQL.
        public var mailboxPath: String?
        /// Subscription settings (batch size, poll interval).
        public var subscriptions = SubscriptionRunner.Configuration()
        /// How many times a command is decided at most when writers race (default 5).
        public var maxCommandAttempts = 5

        /// A configuration for `backend`.
        public init(backend: Backend) {
            self.backend = backend
        }

        /// A configuration for the SQLite file at `databasePath`.
        public init(databasePath: String) {
            self.init(backend: .sqlite(path: databasePath))
        }

        /// The mailbox file in use.
        public var resolvedMailboxPath: String {
            if let mailboxPath { return mailboxPath }
            switch backend {
            case .sqlite(let path, _):
                return URL(fileURLWithPath: path).deletingPathExtension().appendingPathExtension("mailbox").path
            case .postgres:
                return "chronicle.mailbox"
            }
        }
    }

    /// The event store.
    public let store: any EventStore
    /// The checkpoints (unfenced: for reading them).
    public let checkpoints: any CheckpointStore
    /// Answers the read models' queries.
    public let queries: any SQLQuerying
    /// Decides todo commands.
    public let commands: CommandHandler<Todo, TodoEventCodec>
    /// The read models' runners, by list.
    public let readModels: [TodoReadModel.List: SubscriptionRunner]
    /// The read models' projections, by list.
    public let projections: [TodoReadModel.List: any Projection]
    /// The notifier's runner.
    public let notifier: SubscriptionRunner
    /// Where mail goes.
    public let mailSink: any MailSink
    /// On PostgreSQL: the ownership of each runner, so that several workers share them.
    public let ownerships: [SubscriptionOwnership]
    private let postgresStore: PostgresEventStore?

    /// Every runner: the read models, then the notifier.
    public var runners: [SubscriptionRunner] {
        TodoReadModel.List.allCases.compactMap { readModels[$0] } + [notifier]
    }

    /// Opens the database and sets up the read models and the notifier (they run once ``run(workers:)``
    /// runs). `mailSink` defaults to a ``FileMailbox``; `today` dates mail deliveries.
    public init(
        configuration: Configuration, mailSink: (any MailSink)? = nil,
        today: @escaping @Sendable () -> String = TodoService.utcToday,
        logger: Logger = Logger(label: "chronicle.todo")
    ) async throws {
        let sink = try mailSink ?? FileMailbox(path: configuration.resolvedMailboxPath, today: today)
        self.mailSink = sink
        var readModels: [TodoReadModel.List: SubscriptionRunner] = [:]
        var projections: [TodoReadModel.List: any Projection] = [:]
        var ownerships: [SubscriptionOwnership] = []
        func runner(_ consumer: any EventConsumer, _ kind: SubscriptionStatus.Kind, _ store: any EventStore) -> SubscriptionRunner {
            SubscriptionRunner(consumer, kind: kind, store: store, configuration: configuration.subscriptions, logger: logger)
        }
        switch configuration.backend {
        case .sqlite(let path, let sqliteConfiguration):
            let database = try SQLiteDatabase(path: path, configuration: sqliteConfiguration)
            let store = SQLiteEventStore(database: database)
            self.store = store
            checkpoints = SQLiteCheckpointStore(database: database)
            queries = database
            postgresStore = nil
            for list in TodoReadModel.List.allCases {
                let projection = try await SQLiteProjection(TodoReadModel(list), database: database)
                projections[list] = projection
                readModels[list] = runner(projection, .projection, store)
            }
            notifier = runner(
                ReactorConsumer(TodoCompletedNotifier(store: store, mailSink: sink), checkpoints: checkpoints), .reactor, store)
        case .postgres(let database):
            let store = PostgresEventStore(database: database)
            self.store = store
            checkpoints = PostgresCheckpointStore(database: database)
            queries = database
            postgresStore = store
            for list in TodoReadModel.List.allCases {
                let fence = SubscriptionFence(name: list.name)
                let projection = try await PostgresProjection(TodoReadModel(list), database: database, fence: fence)
                projections[list] = projection
                let projectionRunner = runner(projection, .projection, store)
                readModels[list] = projectionRunner
                ownerships.append(SubscriptionOwnership(runner: projectionRunner, fence: fence, database: database, logger: logger))
            }
            let reactor = TodoCompletedNotifier(store: store, mailSink: sink)
            let fence = SubscriptionFence(name: reactor.name)
            notifier = runner(
                ReactorConsumer(reactor, checkpoints: PostgresCheckpointStore(database: database, fence: fence)), .reactor, store)
            ownerships.append(SubscriptionOwnership(runner: notifier, fence: fence, database: database, logger: logger))
        }
        commands = CommandHandler(store: store, codec: TodoEventCodec(), maxAttempts: configuration.maxCommandAttempts)
        self.readModels = readModels
        self.projections = projections
        self.ownerships = ownerships
    }

    /// Runs until the task is cancelled: the read models and the notifier when `workers` is true (on
    /// PostgreSQL, those this process comes to own), and on PostgreSQL the listener that wakes live readers.
    public func run(workers: Bool = true) async {
        await withTaskGroup(of: Void.self) { group in
            if let postgresStore { group.addTask { await postgresStore.listen() } }
            guard workers else {
                for runner in runners { runner.markStandby() }
                return
            }
            if ownerships.isEmpty {
                for runner in runners { group.addTask { await runner.run() } }
            } else {
                for ownership in ownerships { group.addTask { await ownership.run() } }
            }
        }
    }

    /// Waits until the read model of `list` has reached `position` (whichever process runs it), or
    /// `timeout` passes; answers whether it did.
    public func waitForReadModel(_ list: TodoReadModel.List, toReach position: GlobalPosition, timeout: Duration) async -> Bool {
        guard let projection = projections[list], let runner = readModels[list] else { return false }
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            if let checkpoint = try? await projection.checkpoint(), checkpoint >= position { return true }
            let now = ContinuousClock.now
            if now >= deadline || Task.isCancelled { return false }
            // Woken early by this process's runner; polls for a runner in another process.
            await runner.progress.wait(after: GlobalPosition(rawValue: position.rawValue - 1), timeout: min(.milliseconds(50), now.duration(to: deadline)))
        }
    }

    /// The todos of `list`, as its read model holds them now.
    public func todos(_ list: TodoReadModel.List) async throws -> [TodoItem] {
        TodoReadModel.items(try await queries.rows(TodoReadModel(list).query))
    }

    /// Today's date in UTC, `YYYY-MM-DD`.
    @Sendable public static func utcToday() -> String {
        let c = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC") ?? .current, from: Date())
        return String(format: "%04d-%02d-%02d", c.year ?? 1970, c.month ?? 1, c.day ?? 1)
    }
}
