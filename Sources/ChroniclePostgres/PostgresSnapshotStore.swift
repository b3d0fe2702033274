import Chronicle
import Foundation
import PostgresNIO

/// Snapshots in the `snapshots` table of the PostgreSQL database: the latest per stream.
public final class PostgresSnapshotStore: SnapshotStore {
    /// The database.
    public let database: PostgresDatabase

    /// Snapshots in `database` (migrated).
    public init(database: PostgresDatabase) {
        self.database = database
    }

    public func latestSnapshot(of stream: StreamName) async throws -> Snapshot? {
        try await database.withConnection { connection in
            var snapshot: Snapshot?
            for try await (version, schemaVersion, data) in try await connection.query(
                "SELECT version, schema_version, data FROM snapshots WHERE stream_name = \(stream.description)",
                logger: self.database.logger
            ).decode((Int64, Int32, Data).self) {
                snapshot = Snapshot(stream: stream, version: version, schemaVersion: Int(schemaVersion), data: data)
            }
            return snapshot
        }
    }

    public func save(_ snapshot: Snapshot) async throws {
        let query: PostgresQuery = """
            INSERT INTO snapshots (stream_name, version, schema_version, data, taken_at)
            VALUES (\(snapshot.stream.description), \(snapshot.version), \(Int32(snapshot.schemaVersion)), \(ByteBuffer(bytes: snapshot.data)), now())
            ON CONFLICT (stream_name) DO UPDATE SET
                version = excluded.version, schema_version = excluded.schema_version, data = excluded.data,
                taken_at = excluded.taken_at
            WHERE excluded.version >= snapshots.version OR excluded.schema_version <> snapshots.schema_version
            """
        try await database.withConnection { connection in
            try await connection.query(query, logger: self.database.logger)
        }
    }

    public func deleteAllSnapshots() async throws {
        try await database.withConnection { connection in
            try await connection.query("DELETE FROM snapshots", logger: self.database.logger)
        }
    }
}
