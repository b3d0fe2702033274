import ArgumentParser
import BankApp
import CartApp
import PizzaApp
import ChronicleRuntime
import Foundation
import Logging

/// `chronicle worker`: the runtime alone, without the HTTP edge (this file imports no HTTP module).
struct Worker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the read models, reactors and process managers of every application on PostgreSQL, sharing them with other workers.",
        discussion: """
            Needs PostgreSQL: --postgres URL, or DATABASE_URL when --postgres is not given. Each projection or reactor is owned by \
            one live worker at a time; a survivor takes over within seconds when its owner dies.
            """)

    @OptionGroup var storage: PostgresOptions

    @OptionGroup var todo: TodoOptions

    @OptionGroup var bank: BankOptions

    @OptionGroup var pizza: PizzaOptions

    func run() async throws {
        storage.bootstrapLogging()
        guard let postgres = try storage.postgresDatabase(fromEnvironment: true) else {
            throw OperatorError("a worker needs PostgreSQL: pass --postgres URL or set DATABASE_URL")
        }
        let logger = Logger(label: "chronicle.worker")
        if let reason = await postgres.permanentFailure() { throw OperatorError(reason) }
        let backend = ChronicleRuntime.Backend.postgres(postgres)
        // Every application this worker runs, one line each.
        let modules: [any ApplicationModule] = [
            try todo.module(for: backend),
            bank.module,
            try pizza.module(for: backend),
            CartModule(),
        ]
        let runtime = try ChronicleRuntime(configuration: .init(backend: backend), modules: modules, logger: logger)
        logger.notice("worker started", metadata: ["pid": "\(ProcessInfo.processInfo.processIdentifier)"])
        try await StorageOptions.run([postgres.client, runtime], logger: logger)
    }
}
