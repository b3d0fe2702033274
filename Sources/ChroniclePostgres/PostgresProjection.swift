import Chronicle
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// The ownership epoch a worker holds for one subscription. Every write of the subscription's read model
/// or checkpoint checks it in the same transaction, so a worker that lost ownership (its connection
/// dropped and another worker took over) cannot write any more.
public final class SubscriptionFence: Sendable {
    /// The subscription's name.
    public let name: String
    private let epoch = Mutex<Int64?>(nil)

    /// A fence for `name`; a subscription run without ownership (one process) passes `nil` instead.
    public init(name: String) {
        self.name = name
    }

    /// The epoch held now, if any.
    public var current: Int64? { epoch.withLock { $0 } }

    func hold(_ value: Int64?) { epoch.withLock { $0 = value } }

    /// Throws ``OwnershipLost`` unless this process still holds the current epoch; locks the owner row
    /// until the caller's transaction ends, so no takeover can commit in between.
    func check(_ connection: PostgresConnection, logger: Logger) async throws {
        guard let mine = current else { throw OwnershipLost(name: name, held: nil, current: nil) }
        var stored: Int64?
        for try await value in try await connection.query(
            "SELECT epoch FROM subscription_owners WHERE name = \(name) FOR SHARE", logger: logger
        ).decode(Int64.self) { stored = value }
        guard stored == mine else { throw OwnershipLost(name: name, held: mine, current: stored) }
    }
}

/// A write refused because another worker owns the subscription now.
public struct OwnershipLost: Error, CustomStringConvertible {
    /// The subscription.
    public let name: String
    /// The epoch this worker held (nil: none).
    public let held: Int64?
    /// The epoch stored now (nil: no owner row).
    public let current: Int64?
    public var description: String {
        "\(name) is owned by another worker now (epoch \(current.map(String.init) ?? "none"), this worker held \(held.map(String.init) ?? "none"))"
    }
}

/// Runs a ``SQLReadModel`` in PostgreSQL as a ``Projection``: each batch's statements and its checkpoint
/// commit in one transaction, fenced by the worker's ownership epoch when a fence is given.
public final class PostgresProjection<Model: SQLReadModel>: Projection {
    /// The read model.
    public let model: Model
    /// The database holding its tables and its checkpoint.
    public let database: PostgresDatabase
    /// The ownership fence; nil when a single process runs every subscription.
    public let fence: SubscriptionFence?

    /// Makes the projection and creates its tables if needed.
    public init(_ model: Model, database: PostgresDatabase, fence: SubscriptionFence? = nil) async throws {
        self.model = model
        self.database = database
        self.fence = fence
        try await database.withTransaction { connection in
            // Creating tables concurrently from several processes needs one at a time.
            try await connection.takeMigrationLock(logger: database.logger)
            try await connection.run(model.createStatements, logger: database.logger)
        }
    }

    public var name: String { model.name }

    public func checkpoint() async throws -> GlobalPosition {
        try await PostgresCheckpointStore(database: database).checkpoint(for: name)
    }

    public func consume(_ events: [RecordedEvent]) async throws {
        guard let last = events.last else { return }
        let (model, fence, logger) = (self.model, self.fence, database.logger)
        try await database.withTransaction { connection in
            try await fence?.check(connection, logger: logger)
            let checkpoint = try await PostgresCheckpointStore.checkpoint(for: model.name, lockingIn: connection, logger: logger)
            for event in events where event.position > checkpoint {
                try await connection.run(try model.statements(for: event), logger: logger)
            }
            if last.position > checkpoint {
                try await PostgresCheckpointStore.store(last.position, for: model.name, in: connection, logger: logger)
            }
        }
    }

    public func reset() async throws {
        let (model, fence, logger) = (self.model, self.fence, database.logger)
        try await database.withTransaction { connection in
            try await fence?.check(connection, logger: logger)
            try await connection.run(model.dropStatements, logger: logger)
            try await connection.run(model.createStatements, logger: logger)
            try await connection.query("DELETE FROM checkpoints WHERE name = \(model.name)", logger: logger)
        }
    }
}

extension PostgresConnection {
    /// Runs statements in order, `?` placeholders bound as `$1, $2, …`.
    func run(_ statements: [SQLStatement], logger: Logger) async throws {
        for statement in statements { try await execute(try statement.checkedForEveryBackend().postgresQuery, logger: logger) }
    }
}

extension SQLStatement {
    /// The statement with `$n` placeholders and its binds. (The shared dialect has no `?` inside literals.)
    var postgresQuery: PostgresQuery {
        var sql = ""
        var n = 0
        for character in self.sql {
            if character == "?" {
                n += 1
                sql += "$\(n)"
            } else {
                sql.append(character)
            }
        }
        var binds = PostgresBindings(capacity: arguments.count)
        for argument in arguments {
            switch argument {
            case .null: binds.appendNull()
            case .integer(let i): binds.append(i)
            case .text(let s): binds.append(s)
            }
        }
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }
}

extension PostgresDatabase: SQLQuerying {
    public func rows(_ statement: SQLStatement) async throws -> [SQLRow] {
        try await withConnection { connection in
            var rows: [SQLRow] = []
            for try await row in try await connection.query(statement.postgresQuery, logger: self.logger) {
                var values: SQLRow = [:]
                for cell in row {
                    if cell.bytes == nil {
                        values[cell.columnName] = .null
                    } else if [.int2, .int4, .int8].contains(cell.dataType) {
                        values[cell.columnName] = .integer(try cell.decode(Int64.self))
                    } else {
                        values[cell.columnName] = .text(try cell.decode(String.self))
                    }
                }
                rows.append(values)
            }
            return rows
        }
    }
}
