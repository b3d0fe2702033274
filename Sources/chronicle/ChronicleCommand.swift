import ArgumentParser
import Chronicle
import ChronicleHTTP
import ChronicleSQLite
import ChroniclePostgres
import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import TodoApp

@main
struct ChronicleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chronicle",
        abstract: "Chronicle: an event store, its projections and reactors, and the Todo application.",
        subcommands: [Serve.self, Worker.self, Migrate.self, Bench.self, AppendLoad.self],
        defaultSubcommand: Serve.self)
}

/// Where the data lives: an SQLite file (default) or PostgreSQL.
struct StorageOptions: ParsableArguments {
    @Option(help: "The SQLite file holding events, checkpoints and read models (created if missing).")
    var database = "chronicle.sqlite"

    @Option(help: "Use PostgreSQL at this URL (postgres://user:password@host:port/database) instead of SQLite.")
    var postgres: String?

    @Option(help: "The mailbox file the notifier writes to (default: beside the SQLite file; chronicle.mailbox on PostgreSQL).")
    var mailbox: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func bootstrapLogging() {
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }

    /// The PostgreSQL database named by `--postgres`, or by `DATABASE_URL` when `environment` allows it.
    func postgresDatabase(fromEnvironment environment: Bool) throws -> PostgresDatabase? {
        let url = postgres ?? (environment ? ProcessInfo.processInfo.environment["DATABASE_URL"] : nil)
        return try url.map { try PostgresDatabase(url: $0) }
    }

    /// Runs `body` with the Todo service on the chosen storage (and the PostgreSQL client running).
    func withService(postgres database: PostgresDatabase?, _ body: (TodoService) async throws -> Void) async throws {
        guard let database else {
            var configuration = TodoService.Configuration(databasePath: self.database)
            configuration.mailboxPath = mailbox
            return try await body(try await TodoService(configuration: configuration))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.run() }
            defer { group.cancelAll() }
            try await database.migrate()
            var configuration = TodoService.Configuration(backend: .postgres(database))
            configuration.mailboxPath = mailbox
            try await body(try await TodoService(configuration: configuration))
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the TodoMVC page, the Todo API, the event browser and the admin console; run the read models and the notifier.")

    @Option(help: "The port to listen on (0 picks a free one).")
    var port = 8080

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @OptionGroup var storage: StorageOptions

    @Flag(help: "Serve HTTP only; run no projector or reactor in this process (run `chronicle worker` beside it).")
    var noWorkers = false

    @Option(help: "Serve the pages from this folder instead of the bundled copy (for working on them).")
    var publicDir: String?

    func run() async throws {
        storage.bootstrapLogging()
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = Logger(label: "chronicle")
        // SQLite unless --postgres is given: a DATABASE_URL in the environment does not switch `serve`.
        let postgres = try storage.postgresDatabase(fromEnvironment: false)
        try await storage.withService(postgres: postgres) { service in
            var server = ChronicleServer.Configuration()
            server.host = host
            server.port = port
            server.runsSubscriptions = !noWorkers
            server.publicFolder = publicDir.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
            server.metrics = registry
            let where_ = storage.postgres == nil ? storage.database : "PostgreSQL"
            let app = ChronicleServer.application(service: service, configuration: server) { [host] port in
                logger.notice("Chronicle is serving", metadata: ["url": "http://\(host):\(port)", "database": "\(where_)"])
            }
            try await app.runService()
        }
    }
}

struct Worker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the read models and the notifier on PostgreSQL, sharing them with other workers.",
        discussion: "Each projection or reactor is owned by one live worker at a time; a survivor takes over within seconds when its owner dies.")

    @OptionGroup var storage: StorageOptions

    func run() async throws {
        storage.bootstrapLogging()
        guard let postgres = try storage.postgresDatabase(fromEnvironment: true) else {
            throw ValidationError("a worker needs PostgreSQL: pass --postgres URL or set DATABASE_URL")
        }
        let logger = Logger(label: "chronicle.worker")
        try await storage.withService(postgres: postgres) { service in
            logger.notice("worker started", metadata: ["pid": "\(ProcessInfo.processInfo.processIdentifier)"])
            let group = ServiceGroup(
                configuration: .init(
                    services: [SubscriptionsService(service: service, workers: true)], gracefulShutdownSignals: [.sigterm, .sigint],
                    logger: logger))
            try await group.run()
        }
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Bring the database schema up to date (PostgreSQL, or the SQLite file).")

    @OptionGroup var storage: StorageOptions

    func run() async throws {
        storage.bootstrapLogging()
        if let postgres = try storage.postgresDatabase(fromEnvironment: true) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await postgres.run() }
                defer { group.cancelAll() }
                try await postgres.migrate()
                print("PostgreSQL schema at migrations \(try await postgres.appliedMigrations().map(String.init).joined(separator: ", "))")
            }
        } else {
            _ = try SQLiteDatabase(path: storage.database)
            print("SQLite schema of \(storage.database) is up to date")
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
