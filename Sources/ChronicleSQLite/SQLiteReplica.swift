import Chronicle
import Foundation
import GRDB

/// Read models built in a SQLite file of their own (scratch: no journal, no fsync), beside the live ones.
///
/// Built to be read (``SQLiteReplica/init(models:path:)``): a point in time, queried through
/// ``rows(_:)``, whatever backend the log lives on (the read models' SQL runs on every backend). Built
/// to replace a live read model in a SQLite database (``SQLiteReplica/init(rebuilding:in:path:)``):
/// ``promote()`` copies its tables over the live ones and moves the live checkpoint, in one transaction
/// of the live database, so a query sees the old read model or the new one and never anything between.
public final class SQLiteReplica: ReadModelReplica {
    /// The read models it builds.
    public let models: [any SQLReadModel]
    /// Its file.
    public let path: String
    private let queue: DatabaseQueue
    private let live: SQLiteDatabase?

    /// A replica of `models` at `path` (created; an existing file there is replaced), to be read.
    public convenience init(models: [any SQLReadModel], path: String) throws {
        try self.init(models: models, path: path, live: nil)
    }

    /// A replica of `model` at `path`, to be promoted in place of its live read model in `database`.
    public convenience init(rebuilding model: any SQLReadModel, in database: SQLiteDatabase, path: String) throws {
        try self.init(models: [model], path: path, live: database)
    }

    /// A replica to be read, starting as a copy of `other` (its rows and checkpoint): catching it up
    /// from there costs only the events after `other`'s position.
    public convenience init(copying other: SQLiteReplica, path: String) async throws {
        try? FileManager.default.removeItem(atPath: path)
        do {
            try await other.queue.writeWithoutTransaction { db in try db.execute(sql: "VACUUM INTO ?", arguments: [path]) }
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw Self.failure(error, creating: path)
        }
        try self.init(models: other.models, path: path, live: nil, copied: true)
    }

    private init(models: [any SQLReadModel], path: String, live: SQLiteDatabase?, copied: Bool = false) throws {
        self.models = models
        self.path = path
        self.live = live
        if !copied { try? FileManager.default.removeItem(atPath: path) }
        do {
            var configuration = Configuration()
            configuration.prepareDatabase { db in
                // Scratch space: a crash loses nothing that the log cannot give again.
                try db.execute(sql: "PRAGMA journal_mode = OFF")
                try db.execute(sql: "PRAGMA synchronous = OFF")
            }
            queue = try DatabaseQueue(path: path, configuration: configuration)
            if !copied {
                try queue.write { db in
                    try db.execute(sql: "CREATE TABLE replica_checkpoint (position BIGINT NOT NULL)")
                    try db.execute(sql: "INSERT INTO replica_checkpoint VALUES (0)")
                    for model in models { try db.run(model.createStatements) }
                }
            }
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw Self.failure(error, creating: path)
        }
    }

    /// A full disk or an I/O error is ``EventStoreError/unavailable(_:)`` (a 503: retry later); anything
    /// else a storage error.
    private static func failure(_ error: any Error, creating path: String) -> EventStoreError {
        if let error = error as? DatabaseError, case .unavailable = SQLiteDatabase.mapped(error) {
            return .unavailable("no room for a scratch read model at \(path) (\(error.resultCode)); retry later")
        }
        return .storage("cannot create the replica \(path): \(error)")
    }

    public var names: [String] { models.map(\.name) }

    public func checkpoint() async throws -> GlobalPosition {
        try await queue.read { db in try Self.checkpoint(db) }
    }

    private static func checkpoint(_ db: Database, schema: String = "main") throws -> GlobalPosition {
        GlobalPosition(rawValue: try Int64.fetchOne(db, sql: "SELECT position FROM \(schema).replica_checkpoint") ?? 0)
    }

    public func consume(_ events: [RecordedEvent]) async throws {
        guard !events.isEmpty else { return }
        do {
            try await apply(events)
        } catch let error as DatabaseError {
            // A full disk is a passing condition; a read model's own failure stays what it is.
            if case .unavailable(let why) = SQLiteDatabase.mapped(error) { throw EventStoreError.unavailable(why) }
            throw error
        }
    }

    private func apply(_ events: [RecordedEvent]) async throws {
        try await queue.write { [models] db in
            let batch = PastCheckpoint(events, after: try Self.checkpoint(db), position: \.position)
            for event in batch.items {
                for model in models { try db.run(try Replay.statements(model, for: event)) }
            }
            if let checkpoint = batch.checkpoint {
                try db.execute(sql: "UPDATE replica_checkpoint SET position = ?", arguments: [checkpoint.rawValue])
            }
        }
    }

    public func rows(_ statement: SQLStatement) async throws -> [SQLRow] {
        try await queue.read { db in try SQLiteDatabase.rows(statement, db) }
    }

    public func promote() async throws {
        guard let live, models.count == 1, let model = models.first else {
            throw ReplicaError.notPromotable("a replica built to be read replaces nothing")
        }
        try await live.withAttached(path, as: "replica") { db in
            let mine = try Self.checkpoint(db, schema: "replica")
            let theirs = try SQLiteCheckpointStore.checkpoint(for: model.name, db)
            guard mine >= theirs else { throw ReplicaError.behind(live: theirs, replica: mine) }
            let tables = try String.fetchAll(
                db, sql: "SELECT name FROM replica.sqlite_master WHERE type = 'table' AND name <> 'replica_checkpoint' ORDER BY rowid")
            // Create first, so that the drop finds the live tables (main is searched before attached
            // files), then create them afresh and copy the rows across.
            try db.run(model.createStatements)
            try db.run(model.dropStatements)
            try db.run(model.createStatements)
            for table in tables {
                let quoted = "\"" + table.replacingOccurrences(of: "\"", with: "\"\"") + "\""
                // Emptied first: creating a table may seed rows, which the replica holds too.
                try db.execute(sql: "DELETE FROM main.\(quoted)")
                try db.execute(sql: "INSERT INTO main.\(quoted) SELECT * FROM replica.\(quoted)")
            }
            try SQLiteCheckpointStore.store(mine, for: model.name, db)
        }
    }

    public func discard() async {
        try? queue.close()
        try? FileManager.default.removeItem(atPath: path)
    }

    /// A replica nobody holds any more (a point-in-time build the runtime let go of, once the last query
    /// reading it is done) takes its file with it.
    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}
