import Chronicle
import Foundation
import GRDB

/// Checkpoints in the `checkpoints` table of the SQLite file.
public final class SQLiteCheckpointStore: CheckpointStore {
    /// The database file.
    public let database: SQLiteDatabase

    /// Checkpoints in `database`.
    public init(database: SQLiteDatabase) {
        self.database = database
    }

    public func checkpoint(for subscriber: String) async throws -> GlobalPosition {
        try await database.read { db in try Self.checkpoint(for: subscriber, db) }
    }

    /// Records the checkpoint without an fsync of its own (``SQLiteDatabase/Durability/rebuildable``): a
    /// checkpoint lost to a power cut only makes its reactor read again, and a reactor records its effects
    /// idempotently before its checkpoint (invariant 5).
    public func store(_ position: GlobalPosition, for subscriber: String) async throws {
        try await database.write(.rebuildable) { db in try Self.store(position, for: subscriber, db) }
    }

    public func reset(_ subscriber: String) async throws {
        try await database.write { db in try db.execute(sql: "DELETE FROM checkpoints WHERE name = ?", arguments: [subscriber]) }
    }

    /// Reads a checkpoint inside a transaction the caller holds.
    public static func checkpoint(for subscriber: String, _ db: Database) throws -> GlobalPosition {
        GlobalPosition(rawValue: try Int64.fetchOne(db, sql: "SELECT position FROM checkpoints WHERE name = ?", arguments: [subscriber]) ?? 0)
    }

    /// Writes a checkpoint inside a transaction the caller holds (so it commits with the caller's rows).
    public static func store(_ position: GlobalPosition, for subscriber: String, _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO checkpoints (name, position, updated_at) VALUES (?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at
                """,
            arguments: [subscriber, position.rawValue, Int64(Date().timeIntervalSince1970 * 1000)])
    }
}
