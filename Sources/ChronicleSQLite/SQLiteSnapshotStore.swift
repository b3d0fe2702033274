import Chronicle
import Foundation
import GRDB

/// Snapshots in the `snapshots` table of the SQLite file. They are a cache, rebuildable from the log, so
/// they are written without an fsync of their own (``SQLiteDatabase/Durability/rebuildable``).
public final class SQLiteSnapshotStore: SnapshotStore {
    /// The database file.
    public let database: SQLiteDatabase

    /// Snapshots in `database`.
    public init(database: SQLiteDatabase) {
        self.database = database
    }

    public func latestSnapshot(of stream: StreamName) async throws -> Snapshot? {
        try await database.read { db in
            try Row.fetchOne(
                db, sql: "SELECT version, schema_version, data FROM snapshots WHERE stream_name = ?", arguments: [stream.description]
            ).map { row in Snapshot(stream: stream, version: row[0], schemaVersion: row[1], data: row[2]) }
        }
    }

    public func save(_ snapshot: Snapshot) async throws {
        try await database.write(.rebuildable) { db in
            try db.execute(
                sql: """
                    INSERT INTO snapshots (stream_name, version, schema_version, data, taken_at) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (stream_name) DO UPDATE SET
                        version = excluded.version, schema_version = excluded.schema_version, data = excluded.data,
                        taken_at = excluded.taken_at
                    WHERE excluded.version >= snapshots.version OR excluded.schema_version <> snapshots.schema_version
                    """,
                arguments: [
                    snapshot.stream.description, snapshot.version, snapshot.schemaVersion, snapshot.data,
                    Int64(Date().timeIntervalSince1970 * 1000),
                ])
        }
    }

    public func deleteAllSnapshots() async throws {
        try await database.write { db in try db.execute(sql: "DELETE FROM snapshots") }
    }
}
