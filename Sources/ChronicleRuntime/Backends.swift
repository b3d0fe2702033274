import Chronicle
import ChroniclePostgres
import ChronicleSQLite
import Foundation
import Logging

/// What the runtime needs of the database, whichever it is: one implementation per backend, so that the
/// runtime holds no `switch` on it and no backend's SQL — building every module's subscriptions is one
/// loop, preparing, readiness, rebuilding and sweeping one call each.
protocol RuntimeBackend: Sendable {
    var store: any EventStore { get }
    var checkpoints: any CheckpointStore { get }
    var snapshots: any SnapshotStore { get }
    var queries: any SQLQuerying { get }
    /// Where the subscription `name` writes: its storage (read models, process managers), its checkpoints
    /// (reactors), and the fence every write checks (nil: one process runs every subscription).
    func writes(of name: String) -> (storage: any SubscriptionStorage, checkpoints: any CheckpointStore, fence: SubscriptionFence?)
    /// Makes the database ready for the runtime's own tables (PostgreSQL's migrations).
    func prepare() async throws
    /// Runs `check` as a readiness probe: bounded in time where the database can hang.
    func ready(_ check: @escaping @Sendable () async throws -> Void) async throws
    /// Runs while the runtime runs (PostgreSQL's listener for other processes' appends); nil: nothing to run.
    var listener: (@Sendable () async -> Void)? { get }
    /// Runs `body` with a replica that will replace the live read model `model` when promoted.
    func withReplica(rebuilding model: any SQLReadModel, _ body: (any ReadModelReplica) async throws -> Void) async throws
    /// Removes what builds of processes that are gone left in the database or beside it; what it removed.
    func sweepScratch(logger: Logger) async -> [String]
    /// Which worker owns the subscription `name` and since when; nil when none has, or the backend has no
    /// owners (one process runs everything).
    func owner(of name: String) async -> (process: String, since: String)?
    /// Where to pause or resume a subscription this process does not run, when no worker owns it.
    var runsElsewhereHint: String? { get }
    /// The ownership `runner` must hold to run, its writes checked by `fence` (nil: not owned).
    func ownership(of runner: SubscriptionRunner, fence: SubscriptionFence, logger: Logger) -> SubscriptionOwnership?
}

/// An SQLite file: one process, no fences.
struct SQLiteBackend: RuntimeBackend {
    let database: SQLiteDatabase
    var store: any EventStore { eventStore }
    let eventStore: SQLiteEventStore
    var checkpoints: any CheckpointStore { SQLiteCheckpointStore(database: database) }
    var snapshots: any SnapshotStore { SQLiteSnapshotStore(database: database) }
    var queries: any SQLQuerying { database }

    init(_ database: SQLiteDatabase) {
        self.database = database
        self.eventStore = SQLiteEventStore(database: database)
    }

    func writes(of name: String) -> (storage: any SubscriptionStorage, checkpoints: any CheckpointStore, fence: SubscriptionFence?) {
        (SQLiteSubscriptionStorage(database: database), checkpoints, nil)
    }

    func prepare() async throws {}
    func ready(_ check: @escaping @Sendable () async throws -> Void) async throws { try await check() }
    var listener: (@Sendable () async -> Void)? { nil }

    func withReplica(rebuilding model: any SQLReadModel, _ body: (any ReadModelReplica) async throws -> Void) async throws {
        try await body(try SQLiteReplica(rebuilding: model, in: database, path: Scratch.rebuildPath(of: database.path, model: model.name)))
    }

    func sweepScratch(logger: Logger) async -> [String] {
        let url = URL(fileURLWithPath: database.path)
        return Scratch.sweep(folder: url.deletingLastPathComponent().path, prefix: url.lastPathComponent + ".rebuild-")
    }

    func owner(of name: String) async -> (process: String, since: String)? { nil }
    func ownership(of runner: SubscriptionRunner, fence: SubscriptionFence, logger: Logger) -> SubscriptionOwnership? { nil }
    var runsElsewhereHint: String? { "pause or resume it in the process that runs it (a `chronicle serve` without --no-workers on the same file)" }
}

/// A PostgreSQL database shared by workers: every subscription's writes fenced by its ownership epoch.
struct PostgresBackend: RuntimeBackend {
    let database: PostgresDatabase
    let eventStore: PostgresEventStore
    var store: any EventStore { eventStore }
    var checkpoints: any CheckpointStore { PostgresCheckpointStore(database: database) }
    var snapshots: any SnapshotStore { PostgresSnapshotStore(database: database) }
    var queries: any SQLQuerying { database }

    init(_ database: PostgresDatabase) {
        self.database = database
        self.eventStore = PostgresEventStore(database: database)
    }

    func writes(of name: String) -> (storage: any SubscriptionStorage, checkpoints: any CheckpointStore, fence: SubscriptionFence?) {
        let fence = SubscriptionFence(name: name)
        return (PostgresSubscriptionStorage(database: database, fence: fence), PostgresCheckpointStore(database: database, fence: fence), fence)
    }

    func prepare() async throws {
        do {
            try await database.migrate()
        } catch {
            let reason = await database.diagnose() ?? "\(error)"
            throw EventStoreError.unavailable("cannot use PostgreSQL at \(database.endpoint): \(reason)")
        }
    }

    func ready(_ check: @escaping @Sendable () async throws -> Void) async throws { try await database.withDeadline(.seconds(3), check) }

    var listener: (@Sendable () async -> Void)? {
        let store = eventStore
        return { await store.listen() }
    }

    func withReplica(rebuilding model: any SQLReadModel, _ body: (any ReadModelReplica) async throws -> Void) async throws {
        try await PostgresReplica.building(model, in: database) { try await body($0) }
    }

    func sweepScratch(logger: Logger) async -> [String] {
        do {
            return try await PostgresReplica.sweep(in: database)
        } catch {
            logger.warning("could not sweep abandoned replica schemas", metadata: ["error": "\(error)"])
            return []
        }
    }

    func owner(of name: String) async -> (process: String, since: String)? {
        let owner = try? await database.rows(
            SQLStatement("SELECT owner, CAST(acquired_at AS TEXT) AS since FROM subscription_owners WHERE name = ?", [.text(name)])
        ).first
        guard let owner, let process = owner["owner"]?.text else { return nil }
        return (process, owner["since"]?.text ?? "?")
    }

    var runsElsewhereHint: String? { nil }

    func ownership(of runner: SubscriptionRunner, fence: SubscriptionFence, logger: Logger) -> SubscriptionOwnership? {
        SubscriptionOwnership(runner: runner, fence: fence, database: database, logger: logger)
    }
}
