import ArgumentParser
import ChronicleHTTP
import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import TodoApp

@main
struct ChronicleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chronicle",
        abstract: "Chronicle: an event store, its projections and reactors, and the Todo application.",
        subcommands: [Serve.self, Bench.self],
        defaultSubcommand: Serve.self)
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the TodoMVC page, the Todo API and the event browser; run the read models and the notifier.")

    @Option(help: "The port to listen on (0 picks a free one).")
    var port = 8080

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "The SQLite file holding events, checkpoints and read models (created if missing).")
    var database = "chronicle.sqlite"

    @Option(help: "The mailbox file the notifier writes to (default: beside the database, .mailbox).")
    var mailbox: String?

    @Flag(help: "Serve HTTP only; run no projector or reactor in this process.")
    var noWorkers = false

    @Option(help: "Serve the pages from this folder instead of the bundled copy (for working on them).")
    var publicDir: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = Logger(label: "chronicle")
        var configuration = TodoService.Configuration(databasePath: database)
        configuration.mailboxPath = mailbox
        let service = try await TodoService(configuration: configuration)
        var server = ChronicleServer.Configuration()
        server.host = host
        server.port = port
        server.runsSubscriptions = !noWorkers
        server.metrics = registry
        server.publicFolder = publicDir.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        let databasePath = database
        let app = ChronicleServer.application(service: service, configuration: server) { port in
            logger.notice("Chronicle is serving", metadata: ["url": "http://\(host):\(port)", "database": "\(databasePath)"])
        }
        try await app.runService()
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
