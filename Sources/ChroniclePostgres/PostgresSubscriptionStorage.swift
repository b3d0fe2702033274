import Chronicle
import PostgresNIO

/// A subscription's own transactions in PostgreSQL (see ``SubscriptionStorage``), each fenced by the
/// worker's ownership epoch when a fence is given: a worker that lost the subscription writes nothing.
public struct PostgresSubscriptionStorage: SubscriptionStorage {
    /// The database.
    public let database: PostgresDatabase
    /// The ownership fence; nil when one process runs every subscription.
    public let fence: SubscriptionFence?

    /// Storage in `database`, fenced by `fence`.
    public init(database: PostgresDatabase, fence: SubscriptionFence? = nil) {
        self.database = database
        self.fence = fence
    }

    public func prepare(_ statements: [SQLStatement]) async throws {
        let database = self.database
        try await database.withTransaction { connection in
            try await connection.takeMigrationLock(logger: database.logger)
            try await connection.run(statements, logger: database.logger)
        }
    }

    public func checkpoint(for name: String) async throws -> GlobalPosition {
        try await PostgresCheckpointStore(database: database).checkpoint(for: name)
    }

    public func rows(_ statement: SQLStatement) async throws -> [SQLRow] {
        try await database.rows(statement)
    }

    public func commit(_ writes: [SubscriptionWrite], checkpointFor name: String) async throws {
        guard !writes.isEmpty else { return }
        let (fence, logger) = (self.fence, database.logger)
        try await database.withTransaction { connection in
            try await fence?.check(connection, logger: logger)
            let stored = try await PostgresCheckpointStore.checkpoint(for: name, lockingIn: connection, logger: logger)
            let batch = PastCheckpoint(writes, after: stored, position: \.position)
            for write in batch.items { try await connection.run(write.statements, logger: logger) }
            if let checkpoint = batch.checkpoint { try await PostgresCheckpointStore.store(checkpoint, for: name, in: connection, logger: logger) }
        }
    }

    public func execute(_ statements: [SQLStatement], for name: String) async throws {
        let (fence, logger) = (self.fence, database.logger)
        try await database.withTransaction { connection in
            try await fence?.check(connection, logger: logger)
            try await connection.run(statements, logger: logger)
        }
    }
}
