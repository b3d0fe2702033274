import ArgumentParser
import Chronicle
import ChroniclePostgres
import ChronicleRuntime
import ChronicleSQLite
import Foundation
import Logging

/// Where the data lives: an SQLite file (default) or PostgreSQL.
struct StorageOptions: ParsableArguments {
    @Option(name: .customLong("database"), help: "The SQLite file holding events, checkpoints and read models (created if missing; default: chronicle.sqlite).")
    var databasePath: String?

    /// The SQLite file: `--database`, or `chronicle.sqlite`.
    var database: String { databasePath ?? "chronicle.sqlite" }

    @OptionGroup var connection: PostgresOptions

    func bootstrapLogging() { connection.bootstrapLogging() }

    /// The PostgreSQL database named by `--postgres`, or by `DATABASE_URL` when `environment` allows it.
    func postgresDatabase(fromEnvironment environment: Bool) throws -> PostgresDatabase? {
        try connection.postgresDatabase(fromEnvironment: environment)
    }

    /// The runtime's backend: PostgreSQL when `postgres` is given, else the SQLite file (checked first:
    /// a folder that does not exist is an operator's error naming the flag, not a raw file-system error).
    func backend(postgres: PostgresDatabase?) throws -> ChronicleRuntime.Backend {
        if let postgres { return .postgres(postgres) }
        return .sqlite(path: try checkedDatabasePath())
    }

    /// The SQLite file's path, once its folder is known to exist and to be writable.
    func checkedDatabasePath() throws -> String {
        try checkedFilePath(database, role: "the database", flag: "--database")
    }
}

/// PostgreSQL's connection options, and the log level: all that `worker` takes besides its applications'.
struct PostgresOptions: ParsableArguments {
    @Option(help: "Use PostgreSQL at this URL (postgres://user@host:port/database). A password in it shows in `ps`: prefer --postgres-password-file.")
    var postgres: String?

    @Option(help: "Read the PostgreSQL password from this file (its first line), instead of from the URL.")
    var postgresPasswordFile: String?

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
}

/// `path`, once the folder it goes in exists and can be written (where the file does not exist yet);
/// otherwise an operator's error naming `role` and the flag that changes it.
public func checkedFilePath(_ path: String, role: String, flag: String) throws -> String {
    let url = URL(fileURLWithPath: path)
    let folder = url.deletingLastPathComponent().path
    var isFolder: ObjCBool = false
    let manager = FileManager.default
    if manager.fileExists(atPath: path, isDirectory: &isFolder) {
        guard !isFolder.boolValue else { throw OperatorError("cannot use \(path) as \(role): it is a folder (change \(flag))") }
        guard manager.isWritableFile(atPath: path) else { throw OperatorError("cannot write \(role) \(path): permission denied (change \(flag))") }
        return path
    }
    guard manager.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
        throw OperatorError("cannot create \(role) \(path): the folder \(folder) does not exist (create it, or change \(flag))")
    }
    guard manager.isWritableFile(atPath: folder) else {
        throw OperatorError("cannot create \(role) \(path): the folder \(folder) is not writable (change \(flag))")
    }
    return path
}

/// Runs `body`, turning storage that cannot be prepared into an operator's error (host, port, reason).
public func reportingStorageFailures(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as EventStoreError {
        guard case .unavailable(let reason) = error else { throw error }
        throw OperatorError(reason)
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bring the database schema up to date (PostgreSQL, or the SQLite file).",
        discussion: "PostgreSQL at --postgres, or at DATABASE_URL when --postgres is not given; otherwise the SQLite file (--database).")

    @OptionGroup var storage: StorageOptions

    func run() async throws {
        storage.bootstrapLogging()
        if let postgres = try storage.postgresDatabase(fromEnvironment: true) {
            // A runtime without modules: preparing it is migrating.
            let runtime = try ChronicleRuntime(configuration: .init(backend: .postgres(postgres)), modules: [] as [any ApplicationModule])
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await postgres.run() }
                defer { group.cancelAll() }
                try await reportingStorageFailures { try await runtime.prepare() }
                CommandOutput.line("PostgreSQL schema at migrations \(try await postgres.appliedMigrations().map(String.init).joined(separator: ", "))")
            }
        } else {
            _ = try SQLiteDatabase(path: try storage.checkedDatabasePath())
            CommandOutput.line("SQLite schema of \(storage.database) is up to date")
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// A failure the operator can act on, printed as `Error: <what to do>` without the usage text.
public struct OperatorError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// What a subcommand answers on standard output — its result, which scripts read (`send`'s and
/// `streams revert`'s JSON, `migrate`'s one line, `projections rebuild`'s summary) — as opposed to its
/// logs, which go through swift-log to standard error.
enum CommandOutput {
    /// One line of result.
    static func line(_ text: String) {
        print(text)
    }

    /// A result as one line of JSON, keys sorted: the body `POST /commands/:type` answers with.
    static func json(_ value: some Encodable) throws {
        line(String(decoding: try StoredJSON.encode(value), as: UTF8.self))
    }
}
