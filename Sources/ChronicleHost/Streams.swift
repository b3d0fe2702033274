import ArgumentParser
import Chronicle
import ChronicleHTTP
import ChronicleRuntime
import Foundation
import Logging

/// `streams`: operations on one stream.
struct Streams<App: HostedApplication>: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "streams", abstract: "Operations on one stream of events.", subcommands: [Revert.self])
    }

    /// `chronicle streams revert STREAM --to-version N`.
    struct Revert: AsyncParsableCommand {
        static var configuration: CommandConfiguration {
            CommandConfiguration(
                commandName: "revert",
                abstract: "Append the compensating events that bring a stream back to its state at a version (history is kept).",
                discussion: """
                    Exits 0 when reverted, 1 when refused (an event after that version cannot be undone: the answer names it; nothing is appended), \
                    64 for no such stream or version. Reads DATABASE_URL when neither --postgres nor --database is given.
                    """)
        }

        @Argument(help: "The stream, e.g. todo-<uuid> or account-jsdf.")
        var stream: String

        @Option(help: "The version whose state the stream returns to (1 or more).")
        var toVersion: Int64

        @OptionGroup var storage: StorageOptions

        @OptionGroup var options: App.Options

        func run() async throws {
            guard let name = try? StreamName(stream) else { throw usageFailure("not a stream name: \(stream)") }
            let toVersion = self.toVersion
            let outcome: RevertOutcome = try await storage.withOneOffRuntime(of: App.self, options, label: "chronicle.streams") { runtime in
                do {
                    return try await runtime.reverts.revert(name, toVersion: toVersion)
                } catch let error as RevertError {
                    throw usageFailure(error.description)
                }
            }
            try CommandOutput.json(RevertBody(outcome))
            if !outcome.reverted { throw ExitCode(1) }
        }
    }
}
