import Chronicle
import GRDB

/// A read model kept in tables of the SQLite file, next to the events.
public protocol SQLiteReadModel: Sendable {
    /// The projection's unique, stable name (also its checkpoint's name).
    var name: String { get }
    /// Creates the read model's tables if they are missing.
    func createTables(_ db: Database) throws
    /// Drops the read model's tables.
    func dropTables(_ db: Database) throws
    /// Applies one event to the tables (ignore the events it does not care about).
    func apply(_ event: RecordedEvent, _ db: Database) throws
}

/// Runs a ``SQLiteReadModel`` as a ``Projection``: each batch of rows and its checkpoint commit in one
/// transaction, so a crash never applies an event twice or skips one.
public final class SQLiteProjection<Model: SQLiteReadModel>: Projection {
    /// The read model.
    public let model: Model
    /// The database holding its tables and its checkpoint.
    public let database: SQLiteDatabase

    /// Makes the projection and creates its tables if needed.
    public init(_ model: Model, database: SQLiteDatabase) async throws {
        self.model = model
        self.database = database
        try await database.write { db in try model.createTables(db) }
    }

    public var name: String { model.name }

    public func checkpoint() async throws -> GlobalPosition {
        try await database.read { [name] db in try SQLiteCheckpointStore.checkpoint(for: name, db) }
    }

    public func consume(_ events: [RecordedEvent]) async throws {
        guard let last = events.last else { return }
        try await database.write { [model] db in
            // Guard against a second runner: apply only what is past the stored checkpoint.
            let checkpoint = try SQLiteCheckpointStore.checkpoint(for: model.name, db)
            for event in events where event.position > checkpoint { try model.apply(event, db) }
            if last.position > checkpoint { try SQLiteCheckpointStore.store(last.position, for: model.name, db) }
        }
    }

    public func reset() async throws {
        try await database.write { [model] db in
            try model.dropTables(db)
            try model.createTables(db)
            try db.execute(sql: "DELETE FROM checkpoints WHERE name = ?", arguments: [model.name])
        }
    }
}
