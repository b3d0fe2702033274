import Chronicle
import GRDB

/// A subscription's own transactions in the SQLite file (see ``SubscriptionStorage``): written like read
/// models (rebuildable, in the shared group commit), since the log's next durable append syncs them, and
/// a process manager that loses its last writes to a power cut takes its events in again.
public struct SQLiteSubscriptionStorage: SubscriptionStorage {
    /// The database.
    public let database: SQLiteDatabase

    /// Storage in `database`.
    public init(database: SQLiteDatabase) {
        self.database = database
    }

    public func prepare(_ statements: [SQLStatement]) async throws {
        try await database.write { db in try db.run(statements) }
    }

    public func checkpoint(for name: String) async throws -> GlobalPosition {
        try await database.read { db in try SQLiteCheckpointStore.checkpoint(for: name, db) }
    }

    public func rows(_ statement: SQLStatement) async throws -> [SQLRow] {
        try await database.rows(statement)
    }

    public func commit(_ writes: [SubscriptionWrite], checkpointFor name: String) async throws {
        guard !writes.isEmpty else { return }
        try await database.write(.rebuildable) { db in
            let batch = PastCheckpoint(writes, after: try SQLiteCheckpointStore.checkpoint(for: name, db), position: \.position)
            for write in batch.items { try db.run(write.statements) }
            if let checkpoint = batch.checkpoint { try SQLiteCheckpointStore.store(checkpoint, for: name, db) }
        }
    }

    public func execute(_ statements: [SQLStatement], for name: String) async throws {
        try await database.write(.rebuildable) { db in try db.run(statements) }
    }
}
