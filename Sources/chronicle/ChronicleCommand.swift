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

    @Option(help: "Use PostgreSQL at this URL (postgres://user@host:port/database) instead of SQLite. A password in it shows in `ps`: prefer --postgres-password-file.")
    var postgres: String?

    @Option(help: "Read the PostgreSQL password from this file (its first line), instead of from the URL.")
    var postgresPasswordFile: String?

    @Option(help: "The mailbox file the notifier writes to (default: beside the SQLite file; chronicle.mailbox on PostgreSQL).")
    var mailbox: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func bootstrapLogging() {
        let level = logLevel
        LoggingSystem.bootstrap { label in
            // One entry, one line: user input in a message or metadata cannot forge another line.
            var handler = EscapingLogHandler(StreamLogHandler.standardError(label: label))
            handler.logLevel = level
            return handler
        }
    }

    /// The PostgreSQL database named by `--postgres`, or by `DATABASE_URL` when `environment` allows it,
    /// with the password from `--postgres-password-file` when given.
    func postgresDatabase(fromEnvironment environment: Bool) throws -> PostgresDatabase? {
        guard let url = postgres ?? (environment ? ProcessInfo.processInfo.environment["DATABASE_URL"] : nil) else {
            return nil
        }
        var password: String?
        if let file = postgresPasswordFile {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw OperatorError("cannot read the password file \(file) (--postgres-password-file)")
            }
            password = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        }
        do {
            return try PostgresDatabase(url: url, password: password)
        } catch {
            throw OperatorError("\(error) (--postgres or DATABASE_URL)")
        }
    }

    /// Migrates `database` (its client running), or fails within its operation timeout naming host and port: a mistyped
    /// URL or a server that is down is an error at once, not a silent retry loop.
    static func connect(_ database: PostgresDatabase) async throws {
        do {
            try await database.migrate()
        } catch {
            let reason = await database.diagnose() ?? "\(error)"
            throw OperatorError("cannot use PostgreSQL at \(database.endpoint): \(reason)")
        }
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
            try await Self.connect(database)
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

    @Flag(help: "Use PostgreSQL at DATABASE_URL (without this flag or --postgres, serve stays on the SQLite file even when DATABASE_URL is set).")
    var postgresFromEnvironment = false

    @Option(help: "Read the admin credential from this file (first line); CHRONICLE_ADMIN_TOKEN works too. Required to listen on anything but loopback; with it, /admin and the admin API answer 401 without it (HTTP basic, any user name, or Authorization: Bearer).")
    var adminTokenFile: String?

    @Option(help: "A host name requests may name in their Host header besides localhost and IP addresses (repeatable).")
    var allowedHost: [String] = []

    func run() async throws {
        storage.bootstrapLogging()
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = Logger(label: "chronicle")
        var server = ChronicleServer.Configuration()
        server.host = host
        server.port = port
        server.runsSubscriptions = !noWorkers
        server.publicFolder = publicDir.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        server.metrics = registry
        server.access = AccessPolicy(adminToken: try adminToken(), allowedHosts: Set(allowedHost.map { $0.lowercased() }))
        do { try server.validate() } catch { throw OperatorError(error.description) }
        // SQLite unless --postgres or --postgres-from-environment is given: a DATABASE_URL in the
        // environment alone does not switch `serve`.
        let postgres = try storage.postgresDatabase(fromEnvironment: postgresFromEnvironment)
        try await storage.withService(postgres: postgres) { service in
            let where_ = postgres.map { "PostgreSQL at \($0.endpoint)" } ?? storage.database
            let app = ChronicleServer.application(service: service, configuration: server) { [host] port in
                logger.notice("Chronicle is serving", metadata: ["url": "http://\(host):\(port)", "database": "\(where_)"])
            }
            try await app.runService()
        }
    }

    /// The admin credential: `--admin-token-file`, else `CHRONICLE_ADMIN_TOKEN`, else none.
    func adminToken() throws -> String? {
        if let file = adminTokenFile {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8),
                let token = text.split(whereSeparator: \.isNewline).first.map(String.init), !token.isEmpty
            else { throw OperatorError("cannot read an admin credential from \(file) (--admin-token-file)") }
            return token
        }
        return ProcessInfo.processInfo.environment["CHRONICLE_ADMIN_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
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
                try await StorageOptions.connect(postgres)
                print("PostgreSQL schema at migrations \(try await postgres.appliedMigrations().map(String.init).joined(separator: ", "))")
            }
        } else {
            _ = try SQLiteDatabase(path: storage.database)
            print("SQLite schema of \(storage.database) is up to date")
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// A failure the operator can act on, printed as `Error: <what to do>` without the usage text.
struct OperatorError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
