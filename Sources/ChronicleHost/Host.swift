import ArgumentParser
import Chronicle
import ChronicleHTTP
import ChronicleRuntime
import Foundation

/// An application hosted by Chronicle's command line: its name, its options and its one list of modules.
///
/// Your own executable hosts your modules with `serve`, `worker`, `migrate`, `send`, `projections` and
/// `streams` in a few lines:
///
/// ```swift
/// import ChronicleHost
///
/// @main
/// struct Tally: HostedApplication {
///     static let commandName = "tally"
///     static func modules(_ options: NoOptions, _ host: HostContext) throws -> [any HTTPModule] { [TallyWeb()] }
/// }
/// ```
///
/// Every subcommand builds its modules from ``modules(_:_:)``, so none of them can lack one.
public protocol HostedApplication {
    /// The application's own command-line options (`--mailbox`, `--transfer-timeout`, …), which every
    /// subcommand that runs its modules accepts; ``NoOptions`` when it has none.
    associatedtype Options: ParsableArguments = NoOptions

    /// The executable's name, as its help shows it.
    static var commandName: String { get }
    /// One line about the executable, for its help.
    static var abstract: String { get }
    /// One line about what `serve` serves, for its help.
    static var serveAbstract: String { get }
    /// Subcommands of the executable's own, beside Chronicle's.
    static var subcommands: [any ParsableCommand.Type] { get }

    /// Every module the application hosts, made for `host` (its backend, and whether its reactors run).
    static func modules(_ options: Options, _ host: HostContext) throws -> [any HTTPModule]
}

extension HostedApplication {
    /// Runs the command line: mark your application `@main` and this is its entry point.
    public static func main() async {
        await ChronicleHost<Self>.main()
    }

    public static var abstract: String { "\(commandName): an application on Chronicle's event store." }
    public static var serveAbstract: String {
        "Serve the application's routes and pages, the event browser and the admin console; run its read models, reactors and process managers."
    }
    public static var subcommands: [any ParsableCommand.Type] { [] }
}

/// The options of an application that has none of its own.
public struct NoOptions: ParsableArguments {
    public init() {}
}

/// What a subcommand tells the application it builds modules for.
public struct HostContext: Sendable {
    /// What the modules are made for.
    public enum Role: Sendable {
        /// `serve`: routes, pages and (unless `--no-workers`) every subscription.
        case serve
        /// `worker`: every subscription, no HTTP.
        case worker
        /// `send`, `streams`, `projections`: one operation; no reactor, process manager or mail runs.
        case oneOff
    }

    /// Where the data lives.
    public let backend: ChronicleRuntime.Backend
    /// What the modules are made for.
    public let role: Role

    /// Makes a context.
    public init(backend: ChronicleRuntime.Backend, role: Role) {
        self.backend = backend
        self.role = role
    }

    /// Whether reactors may run (and so whether they need their real outlets, such as a mailbox file).
    public var runsReactors: Bool { role != .oneOff }

    /// A file beside the SQLite file with `pathExtension` (`chronicle.mailbox` for `chronicle.sqlite`), or
    /// `chronicle.<pathExtension>` in the working folder on PostgreSQL: where a module's outlet goes by default.
    public func defaultFile(_ pathExtension: String) -> String {
        switch backend {
        case .sqlite(let path, _): URL(fileURLWithPath: path).deletingPathExtension().appendingPathExtension(pathExtension).path
        case .postgres: "chronicle.\(pathExtension)"
        }
    }

    /// A mailbox at `path` for a role whose reactors run (its folder checked first: an operator's error
    /// naming `flag` otherwise); a sink that drops everything for a one-off, which runs no reactor.
    public func mailbox(
        at path: String, role what: String, flag: String, today: @escaping @Sendable () -> String = FileMailbox.utcToday
    ) throws -> any MailSink {
        guard runsReactors else { return DiscardingMailSink() }
        return try FileMailbox(path: try checkedFilePath(path, role: what, flag: flag), today: today)
    }
}

/// Chronicle's command line for `App`: `serve` (the default), `worker`, `migrate`, `send`, `projections`,
/// `streams`, and the application's own subcommands: what a `@main` ``HostedApplication`` runs.
public struct ChronicleHost<App: HostedApplication>: AsyncParsableCommand {
    public static var configuration: CommandConfiguration {
        let own: [any ParsableCommand.Type] = [
            Serve<App>.self, Worker<App>.self, Send<App>.self, Streams<App>.self, Projections<App>.self, Migrate.self,
        ]
        return CommandConfiguration(
            commandName: App.commandName, abstract: App.abstract, subcommands: own + App.subcommands, defaultSubcommand: Serve<App>.self)
    }

    public init() {}
}
