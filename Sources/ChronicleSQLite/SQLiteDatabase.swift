import Chronicle
import Foundation
import GRDB
import Synchronization

/// One SQLite file holding events, streams, checkpoints and the projections' tables, in WAL mode.
///
/// Every write runs in `BEGIN IMMEDIATE`, so writers queue for the file's write lock before they read
/// anything they decide on; that is what makes positions follow commit order, even across processes.
public final class SQLiteDatabase: Sendable {
    /// How the file is opened.
    public struct Configuration: Sendable {
        /// The `PRAGMA synchronous` level. Default `FULL`: a commit survives power loss, at the price of an
        /// fsync per commit. `NORMAL` keeps the file consistent but may lose the last commits on power loss.
        public var synchronous: Synchronous = .full
        /// How long a writer waits for another process's write lock before failing (default 5 s).
        public var busyTimeout: TimeInterval = 5
        /// Makes the default configuration.
        public init() {}

        /// SQLite's durability levels.
        public enum Synchronous: String, Sendable {
            case full = "FULL"
            case normal = "NORMAL"
            case off = "OFF"
        }
    }

    /// How much a write must survive.
    public enum Durability: Sendable {
        /// On disk before the write returns (the configured `synchronous` level): the log's appends.
        case durable
        /// Rebuildable from what is durable: read models and checkpoints, which only ever reflect events
        /// already on disk. Committed without an fsync of their own (WAL with `synchronous = NORMAL`);
        /// the next durable commit syncs them with it. A power loss may take the last of them back to an
        /// earlier, consistent state — rows and checkpoint together — from which the subscription simply
        /// reads again; a process crash loses nothing. Rebuildable writes handed in together share one
        /// transaction, each in a savepoint of its own (see ``write(_:_:)``).
        case rebuildable
    }

    /// The GRDB pool: one writer, concurrent readers.
    public let pool: DatabasePool
    /// The configured durability of durable writes.
    public let synchronous: Configuration.Synchronous
    /// The file's path.
    public let path: String
    private let rebuildableWrites = GroupCommit<PendingWrite, any Sendable>(maxBatch: 64)
    private let rebuildableCommitCount = Atomic<Int>(0)
    private let rebuildableWriteCount = Atomic<Int>(0)

    /// Opens (creating if needed) the file at `path` and brings its schema up to date.
    public init(path: String, configuration: Configuration = Configuration()) throws {
        var config = GRDB.Configuration()
        config.busyMode = .timeout(configuration.busyTimeout)
        let synchronous = configuration.synchronous.rawValue
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
        }
        do {
            pool = try DatabasePool(path: path, configuration: config)
            try Self.migrator.migrate(pool)
        } catch {
            throw EventStoreError.storage("cannot open \(path): \(error)")
        }
        self.path = path
        self.synchronous = configuration.synchronous
    }

    /// Runs `body` in one `BEGIN IMMEDIATE` transaction: all of it commits, or none; `durability` says
    /// whether the commit waits for the disk.
    ///
    /// Rebuildable writes (read models and checkpoints) are written together: every one handed in while
    /// a transaction is being written goes into the next, each in a savepoint of its own. One failing
    /// body (a poison event in one read model) rolls back only its own savepoint and fails only its own
    /// call; its neighbours commit. Each call returns once the shared transaction has committed.
    public func write<T: Sendable>(_ durability: Durability = .durable, _ body: @escaping @Sendable (Database) throws -> T)
        async throws -> T
    {
        switch durability {
        case .durable: try await transaction(relaxed: false, body)
        case .rebuildable: try await writeTogether(body)
        }
    }

    /// One transaction for `body` alone; `relaxed` commits it without an fsync of its own; `attaching`
    /// attaches another SQLite file under an alias for the transaction (detached afterwards).
    private func transaction<T: Sendable>(
        relaxed: Bool, attaching attachment: (path: String, alias: String)? = nil, _ body: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        let relaxed = relaxed && synchronous == .full
        do {
            return try await pool.writeWithoutTransaction { db in
                if relaxed { try db.execute(sql: "PRAGMA synchronous = NORMAL") }
                defer { if relaxed { try? db.execute(sql: "PRAGMA synchronous = FULL") } }
                if let attachment { try db.execute(sql: "ATTACH DATABASE ? AS \(attachment.alias)", arguments: [attachment.path]) }
                defer { if let attachment { try? db.execute(sql: "DETACH DATABASE \(attachment.alias)") } }
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                guard let result else { throw EventStoreError.storage("transaction produced no result") }
                return result
            }
        } catch let error as DatabaseError {
            throw Self.mapped(error)
        }
    }

    /// Runs `body` in one `BEGIN IMMEDIATE` transaction, durable, with the SQLite file at `path` attached
    /// as `alias` (detached afterwards): how a replica's tables are copied over the live ones.
    public func withAttached<T: Sendable>(_ path: String, as alias: String, _ body: @escaping @Sendable (Database) throws -> T)
        async throws -> T
    {
        try await transaction(relaxed: false, attaching: (path, alias), body)
    }

    private func writeTogether<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let value = try await rebuildableWrites.submit(PendingWrite(run: body)) { batch in try await self.commitTogether(batch) }
        guard let value = value as? T else { throw EventStoreError.storage("a write answered a \(type(of: value)), not a \(T.self)") }
        return value
    }

    /// Writes `batch` in one transaction: each write in a savepoint of its own.
    private func commitTogether(_ batch: [PendingWrite]) async throws -> [Result<any Sendable, any Error>] {
        let outcomes = try await transaction(relaxed: true) { db in
            var outcomes: [Result<any Sendable, any Error>] = []
            for write in batch {
                do {
                    var value: (any Sendable)?
                    try db.inSavepoint {
                        value = try write.run(db)
                        return .commit
                    }
                    outcomes.append(value.map { .success($0) } ?? .failure(EventStoreError.storage("a write produced no result")))
                } catch {
                    // SQLite may have rolled the whole transaction back (a full disk, I/O): then nothing
                    // of the batch can commit. Otherwise the failure is this write's alone.
                    guard db.isInsideTransaction else { throw error }
                    outcomes.append(.failure((error as? DatabaseError).map(Self.mapped) ?? error))
                }
            }
            return outcomes
        }
        rebuildableCommitCount.add(1, ordering: .relaxed)
        rebuildableWriteCount.add(batch.count, ordering: .relaxed)
        return outcomes
    }

    /// Transactions that have written rebuildable writes, and the writes they held (for tests and the
    /// benchmark: under load, several read models' batches share each transaction).
    public var rebuildableCommits: (transactions: Int, writes: Int) {
        (rebuildableCommitCount.load(ordering: .relaxed), rebuildableWriteCount.load(ordering: .relaxed))
    }

    /// A full disk, an I/O error or a lock held too long passes: the caller may retry. Anything else
    /// (a constraint, corruption, a bad statement) is a storage error.
    static func mapped(_ error: DatabaseError) -> EventStoreError {
        switch error.resultCode {
        case .SQLITE_FULL:
            .unavailable("the disk holding the database is full; free space and retry")
        case .SQLITE_IOERR, .SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_CANTOPEN, .SQLITE_NOMEM:
            .unavailable("the database cannot be written now (\(error.resultCode)); retry")
        default:
            .storage(error.description)
        }
    }

    /// Runs `body` on a read-only snapshot, on the calling thread: a read of the local file takes
    /// microseconds, less than the two thread hops of GRDB's asynchronous read (which dominated short
    /// reads such as loading a stream). Writes stay asynchronous: they wait for the write lock and fsync.
    public func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try readHere(body)
        } catch let error as DatabaseError {
            throw Self.mapped(error)
        }
    }

    /// GRDB's synchronous read (a synchronous function, so that it is the overload chosen).
    private func readHere<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.read(body)
    }

    /// The schema. NOTE: a shipped migration never changes; a new schema is a new migration.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: events, streams, checkpoints") { db in
            // NOTE: stored format. position is the gap-free global position, assigned as head + 1
            // inside BEGIN IMMEDIATE; event_id is the lowercase UUID; data and metadata are JSON text;
            // recorded_at is milliseconds since 1970 UTC.
            try db.execute(
                sql: """
                    CREATE TABLE events (
                        position INTEGER PRIMARY KEY,
                        event_id TEXT NOT NULL UNIQUE,
                        stream_name TEXT NOT NULL,
                        category TEXT NOT NULL,
                        stream_version INTEGER NOT NULL,
                        type TEXT NOT NULL,
                        schema_version INTEGER NOT NULL,
                        data TEXT NOT NULL,
                        metadata TEXT NOT NULL,
                        recorded_at INTEGER NOT NULL,
                        UNIQUE (stream_name, stream_version)
                    );
                    CREATE INDEX events_by_category ON events (category, position);
                    CREATE TABLE streams (
                        stream_name TEXT PRIMARY KEY,
                        version INTEGER NOT NULL,
                        last_position INTEGER NOT NULL,
                        last_written_at INTEGER NOT NULL
                    );
                    CREATE TABLE checkpoints (
                        name TEXT PRIMARY KEY,
                        position INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v2: events by correlation id") { db in
            try db.execute(
                sql: "CREATE INDEX events_by_correlation ON events (json_extract(metadata, '$.correlation_id'), position)")
        }
        migrator.registerMigration("v3: snapshots") { db in
            // A cache of deciders' states (see SnapshotStore): the latest per stream. version is the stream
            // version the state reflects; schema_version the state encoding's; taken_at milliseconds since 1970.
            try db.execute(
                sql: """
                    CREATE TABLE snapshots (
                        stream_name TEXT PRIMARY KEY,
                        version INTEGER NOT NULL,
                        schema_version INTEGER NOT NULL,
                        data BLOB NOT NULL,
                        taken_at INTEGER NOT NULL
                    )
                    """)
        }
        migrator.registerMigration("v4: protocol events") { db in
            // Events of KurrentDB's protocol clients: content_type is NULL for JSON text (every event
            // before), else the media type given, with data stored as a BLOB; custom_metadata holds the
            // client's metadata bytes as given (NULL when none); streams.tombstoned is 1 once a stream's
            // `$streamDeleted` event is appended (nothing may follow it). Adding columns rewrites no row.
            try db.execute(
                sql: """
                    ALTER TABLE events ADD COLUMN content_type TEXT;
                    ALTER TABLE events ADD COLUMN custom_metadata BLOB;
                    ALTER TABLE streams ADD COLUMN tombstoned INTEGER NOT NULL DEFAULT 0;
                    """)
        }
        return migrator
    }
}

/// A rebuildable write waiting for the next shared transaction: `run` writes and returns what delivers
/// its answer once the transaction has committed; `fail` answers an error.
private struct PendingWrite: Sendable {
    let run: @Sendable (Database) throws -> any Sendable
}
