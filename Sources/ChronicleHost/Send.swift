import ArgumentParser
import Chronicle
import ChronicleHTTP
import ChronicleRuntime
import Foundation
import Logging

/// `send TYPE 'JSON'`: one command through the command bus of every hosted module, the way the CQRS
/// engine's REPL sent them. Prints the answer as `POST /commands/:type` does; exits 0 when Accepted, 1
/// when Rejected (and 64 for an unknown type or a body that is not the command).
struct Send<App: HostedApplication>: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "send",
            abstract: "Send one command (e.g. DepositMoney '{\"account_id\": \"jsdf\", \"amount\": 23}') and print whether it was accepted.",
            discussion: """
                Exits 0 when the command is accepted, 1 when it is rejected, 64 for an unknown type or a malformed body. \
                A "command_id" (a UUID) in the JSON makes sending it again apply it once. Reads DATABASE_URL when neither --postgres nor --database is given. \
                A transfer is settled by the process manager of a running `chronicle serve` or `chronicle worker`.
                """)
    }

    @Argument(help: "The command's type, e.g. DepositMoney (an unknown type is answered with the list of known ones).")
    var type: String

    @Argument(help: "Its fields, as a JSON object.")
    var json: String

    @OptionGroup var storage: StorageOptions

    @OptionGroup var options: App.Options

    func run() async throws {
        let (type, json) = (self.type, self.json)
        let answer: CommandAnswer = try await storage.withOneOffRuntime(of: App.self, options, label: "chronicle.send") { runtime in
            guard runtime.bus.exposes(type) else {
                throw usageFailure("\(CommandBusError.unknownType(type)); known: \(runtime.bus.exposedTypes.joined(separator: ", "))")
            }
            guard case .object(let fields)? = try? JSONDecoder().decode(JSONValue.self, from: Data(json.utf8)) else {
                throw usageFailure("\(CommandBusError.malformed(type: type, reason: "the body must be a JSON object"))")
            }
            do {
                return try await runtime.bus.send(try CommandEnvelope(type: type, fields: fields))
            } catch let error as CommandBusError {
                throw usageFailure(error.description)
            }
        }
        try CommandOutput.json(CommandAnswerBody(answer))
        if case .rejected = answer { throw ExitCode(1) }
    }
}

extension StorageOptions {
    /// Runs `body` with a runtime of `modules` that runs no subscription (a one-off command: `send`,
    /// `streams revert`), on the SQLite file, `--postgres`, or `DATABASE_URL` when no `--database` is
    /// given; the database prepared first, the PostgreSQL client stopped after.
    func withOneOffRuntime<App: HostedApplication, T: Sendable>(
        of app: App.Type, _ options: App.Options, label: String, _ body: @escaping @Sendable (ChronicleRuntime) async throws -> T
    ) async throws -> T {
        bootstrapLogging()
        // DATABASE_URL is read only when no SQLite file was named: `--database` always means that file.
        let postgres = try postgresDatabase(fromEnvironment: databasePath == nil)
        let backend = try backend(postgres: postgres)
        var configuration = ChronicleRuntime.Configuration(backend: backend)
        configuration.runsSubscriptions = false
        let modules = try App.modules(options, HostContext(backend: backend, role: .oneOff)).map(\.application)
        let runtime = try ChronicleRuntime(configuration: configuration, modules: modules, logger: Logger(label: label))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            if let postgres { group.addTask { await postgres.run() } }
            defer { group.cancelAll() }
            try await reportingStorageFailures { try await runtime.prepare() }
            return try await body(runtime)
        }
    }
}

/// A command that could not be sent at all: the reason on standard error, exit code 64 (usage).
func usageFailure(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
    return ExitCode(64)
}
