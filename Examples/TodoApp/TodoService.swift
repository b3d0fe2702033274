import Chronicle
import ChronicleSQLite
import Foundation
import Logging
import TodoDomain

/// The Todo application on one SQLite file: the store, the command handler, the four read models and
/// the notifier, each read model and the notifier run by its own ``SubscriptionRunner``.
public final class TodoService: Sendable {
    /// How the service is set up.
    public struct Configuration: Sendable {
        /// The SQLite file (created if missing).
        public var databasePath: String
        /// The mailbox file; default: the database path with `.mailbox` instead of its extension.
        public var mailboxPath: String?
        /// SQLite settings (default: WAL, `synchronous=FULL`).
        public var database = SQLiteDatabase.Configuration()
        /// Subscription settings (batch size, poll interval).
        public var subscriptions = SubscriptionRunner.Configuration()
        /// How many times a command is decided at most when writers race (default 5).
        public var maxCommandAttempts = 5

        /// A configuration for the database at `databasePath`.
        public init(databasePath: String) {
            self.databasePath = databasePath
        }

        /// The mailbox file in use.
        public var resolvedMailboxPath: String {
            mailboxPath ?? URL(fileURLWithPath: databasePath).deletingPathExtension().appendingPathExtension("mailbox").path
        }
    }

    /// The database file.
    public let database: SQLiteDatabase
    /// The event store.
    public let store: SQLiteEventStore
    /// Decides todo commands.
    public let commands: CommandHandler<Todo, TodoEventCodec>
    /// The read models' runners, by list.
    public let readModels: [TodoReadModel.List: SubscriptionRunner]
    /// The notifier's runner.
    public let notifier: SubscriptionRunner
    /// Where mail goes.
    public let mailSink: any MailSink

    /// Every runner: the read models, then the notifier.
    public var runners: [SubscriptionRunner] {
        TodoReadModel.List.allCases.compactMap { readModels[$0] } + [notifier]
    }

    /// Opens the database and sets up the read models and the notifier (they run once ``run()`` runs).
    /// `mailSink` defaults to a ``FileMailbox`` at the configured path; `today` dates mail deliveries.
    public init(
        configuration: Configuration, mailSink: (any MailSink)? = nil,
        today: @escaping @Sendable () -> String = TodoService.utcToday,
        logger: Logger = Logger(label: "chronicle.todo")
    ) async throws {
        database = try SQLiteDatabase(path: configuration.databasePath, configuration: configuration.database)
        store = SQLiteEventStore(database: database)
        commands = CommandHandler(store: store, codec: TodoEventCodec(), maxAttempts: configuration.maxCommandAttempts)
        let sink = try mailSink ?? FileMailbox(path: configuration.resolvedMailboxPath, today: today)
        self.mailSink = sink
        var readModels: [TodoReadModel.List: SubscriptionRunner] = [:]
        for list in TodoReadModel.List.allCases {
            let projection = try await SQLiteProjection(TodoReadModel(list), database: database)
            readModels[list] = SubscriptionRunner(
                projection, kind: .projection, store: store, configuration: configuration.subscriptions, logger: logger)
        }
        self.readModels = readModels
        notifier = SubscriptionRunner(
            ReactorConsumer(TodoCompletedNotifier(store: store, mailSink: sink), checkpoints: SQLiteCheckpointStore(database: database)),
            kind: .reactor, store: store, configuration: configuration.subscriptions, logger: logger)
    }

    /// Runs every read model and the notifier until the task is cancelled.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            for runner in runners { group.addTask { await runner.run() } }
        }
    }

    /// The todos of `list`, as its read model holds them now.
    public func todos(_ list: TodoReadModel.List) async throws -> [TodoItem] {
        TodoReadModel.items(try await database.rows(TodoReadModel(list).query))
    }

    /// Today's date in UTC, `YYYY-MM-DD`.
    @Sendable public static func utcToday() -> String {
        let c = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC") ?? .current, from: Date())
        return String(format: "%04d-%02d-%02d", c.year ?? 1970, c.month ?? 1, c.day ?? 1)
    }
}
