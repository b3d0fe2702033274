import ArgumentParser
import ChronicleHTTP
import ChronicleRuntime
import Foundation
import Logging
import ServiceLifecycle

/// `worker`: the runtime alone, without the HTTP edge (the modules' applications, not their web sides).
struct Worker<App: HostedApplication>: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "worker",
            abstract: "Run the read models, reactors and process managers of every application on PostgreSQL, sharing them with other workers.",
            discussion: """
                Needs PostgreSQL: --postgres URL, or DATABASE_URL when --postgres is not given. Each projection or reactor is owned by \
                one live worker at a time; a survivor takes over within seconds when its owner dies.
                """)
    }

    @OptionGroup var storage: PostgresOptions

    @OptionGroup var options: App.Options

    func run() async throws {
        storage.bootstrapLogging()
        guard let postgres = try storage.postgresDatabase(fromEnvironment: true) else {
            throw OperatorError("a worker needs PostgreSQL: pass --postgres URL or set DATABASE_URL")
        }
        let logger = Logger(label: "chronicle.worker")
        if let reason = await postgres.permanentFailure() { throw OperatorError(reason) }
        let backend = ChronicleRuntime.Backend.postgres(postgres)
        let modules = try App.modules(options, HostContext(backend: backend, role: .worker)).map(\.application)
        let runtime = try ChronicleRuntime(configuration: .init(backend: backend), modules: modules, logger: logger)
        logger.notice("worker started", metadata: ["pid": "\(ProcessInfo.processInfo.processIdentifier)"])
        // The PostgreSQL client first, so that it stops last; until SIGTERM or SIGINT.
        let services = ServiceGroup(
            configuration: .init(services: [postgres.client, runtime], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await reportingStorageFailures { try await services.run() }
    }
}
