import Chronicle
import GRDB

/// Runs a ``SQLReadModel`` in the SQLite file as a ``Projection``: each batch's statements and its
/// checkpoint commit in one transaction, so a crash never applies an event twice or skips one.
public final class SQLiteProjection<Model: SQLReadModel>: Projection {
    /// The read model.
    public let model: Model
    /// The database holding its tables and its checkpoint.
    public let database: SQLiteDatabase

    /// Makes the projection and creates its tables if needed.
    public init(_ model: Model, database: SQLiteDatabase) async throws {
        self.model = model
        self.database = database
        try await database.write { db in try db.run(model.createStatements) }
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
            for event in events where event.position > checkpoint { try db.run(try model.statements(for: event)) }
            if last.position > checkpoint { try SQLiteCheckpointStore.store(last.position, for: model.name, db) }
        }
    }

    public func reset() async throws {
        try await database.write { [model] db in
            try db.run(model.dropStatements)
            try db.run(model.createStatements)
            try db.execute(sql: "DELETE FROM checkpoints WHERE name = ?", arguments: [model.name])
        }
    }
}

extension SQLiteDatabase: SQLQuerying {
    public func rows(_ statement: SQLStatement) async throws -> [SQLRow] {
        try await read { db in
            try Row.fetchAll(db, sql: statement.sql, arguments: StatementArguments(statement.arguments.map(\.databaseValue)))
                .map { row in
                    var values: SQLRow = [:]
                    for (column, value) in row {
                        switch value.storage {
                        case .null: values[column] = .null
                        case .int64(let i): values[column] = .integer(i)
                        case .double(let d): values[column] = .integer(Int64(d))
                        case .string(let s): values[column] = .text(s)
                        case .blob(let b): values[column] = .text(String(decoding: b, as: UTF8.self))
                        }
                    }
                    return values
                }
        }
    }
}

extension Database {
    /// Runs statements in order.
    func run(_ statements: [SQLStatement]) throws {
        for statement in statements {
            let statement = try statement.checkedForEveryBackend()
            try execute(sql: statement.sql, arguments: StatementArguments(statement.arguments.map(\.databaseValue)))
        }
    }
}

extension SQLValue {
    var databaseValue: DatabaseValue {
        switch self {
        case .null: .null
        case .integer(let i): i.databaseValue
        case .text(let s): s.databaseValue
        }
    }
}
