import Chronicle
import Foundation
import Logging
import PostgresNIO

/// Checkpoints in the `checkpoints` table of the PostgreSQL database, fenced by the worker's ownership
/// epoch when a fence is given.
public final class PostgresCheckpointStore: CheckpointStore {
    /// The database.
    public let database: PostgresDatabase
    /// The ownership fence of the subscription whose checkpoint this stores; nil in a single process.
    public let fence: SubscriptionFence?

    /// Checkpoints in `database` (migrated).
    public init(database: PostgresDatabase, fence: SubscriptionFence? = nil) {
        self.database = database
        self.fence = fence
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
        let (fence, logger) = (self.fence, database.logger)
        try await database.withTransaction { connection in
            try await fence?.check(connection, logger: logger)
            try await Self.store(position, for: subscriber, in: connection, logger: logger)
        }
    }

    public func reset(_ subscriber: String) async throws {
        let (fence, logger) = (self.fence, database.logger)
        try await database.withTransaction { connection in
            try await fence?.check(connection, logger: logger)
            try await connection.query("DELETE FROM checkpoints WHERE name = \(subscriber)", logger: logger)
        }
    }

    /// Reads a checkpoint inside the caller's transaction, locking its row until the transaction ends.
    static func checkpoint(for subscriber: String, lockingIn connection: PostgresConnection, logger: Logger) async throws
        -> GlobalPosition
    {
        var position: Int64 = 0
        for try await p in try await connection.query(
            "SELECT position FROM checkpoints WHERE name = \(subscriber) FOR UPDATE", logger: logger
        ).decode(Int64.self) { position = p }
        return GlobalPosition(rawValue: position)
    }

    /// Writes a checkpoint inside the caller's transaction.
    static func store(_ position: GlobalPosition, for subscriber: String, in connection: PostgresConnection, logger: Logger)
        async throws
    {
        try await connection.query(
            """
            INSERT INTO checkpoints (name, position, updated_at) VALUES (\(subscriber), \(position.rawValue), now())
            ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at
            """, logger: logger)
    }
}
