import Chronicle
import Foundation
import PostgresNIO

/// Checkpoints in the `checkpoints` table of the PostgreSQL database.
public final class PostgresCheckpointStore: CheckpointStore {
    /// The database.
    public let database: PostgresDatabase

    /// Checkpoints in `database` (migrated).
    public init(database: PostgresDatabase) {
        self.database = database
    }

    public func checkpoint(for subscriber: String) async throws -> GlobalPosition {
        try await database.withConnection { connection in
            var position: Int64 = 0
            for try await p in try await connection.query(
                "SELECT position FROM checkpoints WHERE name = \(subscriber)", logger: self.database.logger
            ).decode(Int64.self) { position = p }
            return GlobalPosition(rawValue: position)
        }
    }

    public func store(_ position: GlobalPosition, for subscriber: String) async throws {
        try await database.withConnection { connection in
            try await connection.query(
                """
                INSERT INTO checkpoints (name, position, updated_at) VALUES (\(subscriber), \(position.rawValue), now())
                ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at
                """, logger: self.database.logger)
        }
    }

    public func reset(_ subscriber: String) async throws {
        try await database.withConnection { connection in
            try await connection.query("DELETE FROM checkpoints WHERE name = \(subscriber)", logger: self.database.logger)
        }
    }
}
