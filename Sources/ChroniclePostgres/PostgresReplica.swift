import Chronicle
import Foundation
import Logging
import PostgresNIO

/// A read model rebuilt in a PostgreSQL schema of its own (`chronicle_replica_…`), beside the live one.
///
/// Each batch runs with the replica's schema first on the search path, so the read model's own SQL
/// writes the replica's tables. ``promote()`` then, in one transaction: locks the live checkpoint (the
/// live projection takes the same lock first, so it waits), drops the live tables, moves the replica's
/// into the live schema (`ALTER TABLE … SET SCHEMA`: no copy), and moves the live checkpoint. A query
/// sees the old read model or the new one, never anything between.
public final class PostgresReplica: ReadModelReplica {
    /// The read model.
    public let model: any SQLReadModel
    /// The database holding the live read model.
    public let database: PostgresDatabase
    /// The replica's schema.
    public let schema: String

    private init(model: any SQLReadModel, database: PostgresDatabase, schema: String) {
        self.model = model
        self.database = database
        self.schema = schema
    }

    /// The advisory lock (two-key form, class `replicaLockClass`) that the process building a replica
    /// holds on a session of its own for as long as it builds: a schema whose lock nobody holds is
    /// abandoned (its process died), and ``sweep(in:)`` drops it.
    static let replicaLockClass: Int32 = 0x4352_5052  // "CRPR"

    /// Runs `body` with a new replica of `model` in `database`, holding the replica's lock on a
    /// connection of its own throughout (a process killed meanwhile loses it with its connection);
    /// the schema is dropped afterwards unless `body` promoted it.
    public static func building(
        _ model: any SQLReadModel, in database: PostgresDatabase, _ body: (PostgresReplica) async throws -> Void
    ) async throws {
        let schema = String("chronicle_replica_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16))
        let logger = database.logger
        let lock: PostgresQuery = "SELECT pg_advisory_lock(\(replicaLockClass), hashtext(\(schema)))"
        let unlock: PostgresQuery = "SELECT pg_advisory_unlock(\(replicaLockClass), hashtext(\(schema)))"
        do {
            try await database.client.withConnection { holder in
                try await holder.query(lock, logger: logger)
                do {
                    let replica = try await rebuilding(model, in: database, schema: schema)
                    do {
                        try await body(replica)
                    } catch {
                        await replica.discard()
                        throw error
                    }
                } catch {
                    _ = try? await holder.query(unlock, logger: logger)
                    throw error
                }
                // Back to the pool without the lock (a connection closed lets go of it too).
                _ = try? await holder.query(unlock, logger: logger)
            }
        } catch let error as PSQLError {
            throw database.mapped(error)
        }
    }

    /// Drops the replica schemas (`chronicle_replica_…`) whose lock no session holds: those of processes
    /// that died while building. Answers their names.
    public static func sweep(in database: PostgresDatabase) async throws -> [String] {
        let logger = database.logger
        let schemas = try await database.withConnection { connection in
            var found: [String] = []
            for try await name in try await connection.query(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'chronicle\\_replica\\_%'", logger: logger
            ).decode(String.self) { found.append(name) }
            return found
        }
        var swept: [String] = []
        for schema in schemas {
            let dropped = try await database.withTransaction { connection in
                var free = false
                for try await taken in try await connection.query(
                    "SELECT pg_try_advisory_xact_lock(\(replicaLockClass), hashtext(\(schema)))", logger: logger
                ).decode(Bool.self) { free = taken }
                guard free else { return false }
                try await connection.query("DROP SCHEMA IF EXISTS \(unescaped: "\"" + schema + "\"") CASCADE", logger: logger)
                return true
            }
            if dropped { swept.append(schema) }
        }
        return swept
    }

    /// Creates the replica's schema and tables in `database`.
    private static func rebuilding(_ model: any SQLReadModel, in database: PostgresDatabase, schema: String) async throws -> PostgresReplica {
        let replica = PostgresReplica(model: model, database: database, schema: schema)
        let logger = database.logger
        do {
            try await database.withTransaction { connection in
                try await connection.query("CREATE SCHEMA \(unescaped: schema)", logger: logger)
                try await connection.query("SET LOCAL search_path TO \(unescaped: schema)", logger: logger)
                try await connection.query(
                    "CREATE TABLE checkpoints (name TEXT PRIMARY KEY, position BIGINT NOT NULL, updated_at TIMESTAMPTZ NOT NULL)",
                    logger: logger)
                try await connection.run(model.createStatements, logger: logger)
            }
        } catch {
            await replica.discard()
            throw error
        }
        return replica
    }

    public var names: [String] { [model.name] }

    /// Runs `body` in a transaction whose search path is the replica's schema.
    private func inReplica<T: Sendable>(_ body: @Sendable @escaping (PostgresConnection) async throws -> T) async throws -> T {
        let (schema, logger) = (self.schema, database.logger)
        return try await database.withTransaction { connection in
            try await connection.query("SET LOCAL search_path TO \(unescaped: schema)", logger: logger)
            return try await body(connection)
        }
    }

    public func checkpoint() async throws -> GlobalPosition {
        let (name, logger) = (model.name, database.logger)
        return try await inReplica { connection in
            try await PostgresCheckpointStore.checkpoint(for: name, lockingIn: connection, logger: logger)
        }
    }

    public func consume(_ events: [RecordedEvent]) async throws {
        guard !events.isEmpty else { return }
        let (model, logger) = (self.model, database.logger)
        try await inReplica { connection in
            let stored = try await PostgresCheckpointStore.checkpoint(for: model.name, lockingIn: connection, logger: logger)
            let batch = PastCheckpoint(events, after: stored, position: \.position)
            for event in batch.items {
                try await connection.run(try Replay.statements(model, for: event), logger: logger)
            }
            if let checkpoint = batch.checkpoint {
                try await PostgresCheckpointStore.store(checkpoint, for: model.name, in: connection, logger: logger)
            }
        }
    }

    public func rows(_ statement: SQLStatement) async throws -> [SQLRow] {
        let logger = database.logger
        return try await inReplica { connection in
            var rows: [SQLRow] = []
            for try await row in try await connection.query(statement.postgresQuery, logger: logger) {
                var values: SQLRow = [:]
                for cell in row { values[cell.columnName] = try SQLValue(cell) }
                rows.append(values)
            }
            return rows
        }
    }

    public func promote() async throws {
        let (model, schema, logger) = (self.model, self.schema, database.logger)
        try await database.withTransaction { connection in
            // The live checkpoint's row, locked: the live projection locks it before it writes a row.
            try await connection.query(
                "INSERT INTO checkpoints (name, position, updated_at) VALUES (\(model.name), 0, now()) ON CONFLICT (name) DO NOTHING",
                logger: logger)
            let theirs = try await PostgresCheckpointStore.checkpoint(for: model.name, lockingIn: connection, logger: logger)
            var mine = GlobalPosition.start
            for try await p in try await connection.query(
                "SELECT position FROM \(unescaped: schema).checkpoints WHERE name = \(model.name)", logger: logger
            ).decode(Int64.self) { mine = GlobalPosition(rawValue: p) }
            guard mine >= theirs else { throw ReplicaError.behind(live: theirs, replica: mine) }
            var live = ""
            for try await s in try await connection.query("SELECT current_schema()", logger: logger).decode(String.self) { live = s }
            var tables: [String] = []
            for try await t in try await connection.query(
                "SELECT tablename FROM pg_tables WHERE schemaname = \(schema) AND tablename <> 'checkpoints'", logger: logger
            ).decode(String.self) { tables.append(t) }
            try await connection.run(model.dropStatements, logger: logger)
            for table in tables {
                let quoted = "\"" + table.replacingOccurrences(of: "\"", with: "\"\"") + "\""
                let liveSchema = "\"" + live.replacingOccurrences(of: "\"", with: "\"\"") + "\""
                try await connection.query("ALTER TABLE \(unescaped: schema).\(unescaped: quoted) SET SCHEMA \(unescaped: liveSchema)", logger: logger)
            }
            try await PostgresCheckpointStore.store(mine, for: model.name, in: connection, logger: logger)
            try await connection.query("DROP SCHEMA \(unescaped: schema) CASCADE", logger: logger)
        }
    }

    public func discard() async {
        try? await database.execute("DROP SCHEMA IF EXISTS \(unescaped: schema) CASCADE")
    }
}
