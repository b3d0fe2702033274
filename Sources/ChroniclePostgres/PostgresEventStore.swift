import Chronicle
import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL ``EventStore``, for many processes on many machines.
///
/// Every append first locks the one row of `chronicle_head` and assigns positions from it, so positions
/// are gap-free and follow commit order: a reader that has seen p never later finds a committed event
/// below p (a sequence would hand out positions that commit out of order). Unique constraints on the
/// event id and on (stream, version) stay as a backstop. `LISTEN/NOTIFY` only wakes readers; they read
/// by position, and poll when no notification comes.
public final class PostgresEventStore: EventStore {
    /// The database.
    public let database: PostgresDatabase
    /// Raised after each append of this process, and on each notification from others (``listen()``).
    public let appendSignal = PositionSignal()
    private let now: @Sendable () -> Date
    /// The notification channel appends announce `<schema>:<last position>` on.
    public static let channel = "chronicle_events"

    /// A store on `database` (migrated); `now` stamps `recordedAt`.
    public init(database: PostgresDatabase, now: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.now = now
    }

    private var logger: Logger { database.logger }

    /// Appends `events` in one round trip: one statement (the `chronicle_append` function) locks the head
    /// row, checks the version, inserts every event and answers. A batch holding an id that is in the log
    /// already (a re-send) is settled by ``appendResending(_:to:expecting:recordedAt:)``.
    public func append(_ events: [NewEvent], to stream: StreamName, expecting expected: ExpectedVersion) async throws
        -> AppendResult
    {
        try AppendRules.validate(events, to: stream)
        let recordedAt = now()
        let (kind, version): (String, Int64) = switch expected {
        case .any: ("any", 0)
        case .noStream: ("no_stream", 0)
        case .streamExists: ("stream_exists", 0)
        case .exactly(let n): ("exactly", n)
        }
        let ids = events.map(\.id)
        let types = events.map(\.type)
        let schemaVersions = events.map { Int32($0.schemaVersion) }
        let data = events.map { String(decoding: $0.data, as: UTF8.self) }
        let metadata = events.map { String(decoding: $0.metadata.jsonData(), as: UTF8.self) }
        let logger = self.logger
        let answer = try await database.withConnection { connection in
            var answer: (String, Int64, Int64, Int64)?
            for try await row in try await connection.query(
                """
                SELECT r_outcome, r_version, r_first, r_last FROM chronicle_append(
                    \(stream.description), \(stream.category), \(kind), \(version), \(ids), \(types), \(schemaVersions), \(data),
                    \(metadata), \(recordedAt), \(Self.channel))
                """, logger: logger
            ).decode((String, Int64, Int64, Int64).self) { answer = row }
            return answer
        }
        switch answer {
        case ("appended", let newVersion, let first, let last)?:
            appendSignal.announce(GlobalPosition(rawValue: last))
            return AppendResult(
                streamVersion: newVersion, firstPosition: GlobalPosition(rawValue: first), lastPosition: GlobalPosition(rawValue: last),
                wasAlreadyStored: false)
        case ("conflict", let actual, _, _)?:
            throw EventStoreError.wrongExpectedVersion(stream: stream, expected: expected, actual: actual)
        case ("stored", _, _, _)?:
            return try await appendResending(events, to: stream, expecting: expected, recordedAt: recordedAt)
        default:
            throw EventStoreError.storage("chronicle_append answered \(String(describing: answer))")
        }
    }

    /// An append holding an id already stored: the same batch re-sent is answered with the original
    /// result; anything else is refused (``AppendRules/idempotentResult(for:to:stored:)``). In one
    /// transaction, the head row locked first, so that it sees every append that committed before it.
    func appendResending(_ events: [NewEvent], to stream: StreamName, expecting expected: ExpectedVersion, recordedAt: Date)
        async throws -> AppendResult
    {
        let logger = self.logger
        let result = try await database.withTransaction { connection in
            // The head row first: appenders queue here, so positions are handed out in commit order.
            var head: Int64 = 0
            for try await position in try await connection.query(
                "SELECT position FROM chronicle_head WHERE id = 1 FOR UPDATE", logger: logger
            ).decode(Int64.self) { head = position }

            let ids = events.map(\.id)
            var stored: [UUID: RecordedEvent] = [:]
            for event in try await Self.fetch(
                "\(unescaped: Self.columns) WHERE event_id = ANY(\(ids))", connection, logger)
            { stored[event.id] = event }
            if let earlier = try AppendRules.idempotentResult(for: events, to: stream, stored: stored) { return earlier }

            var actual: StreamVersion = 0
            for try await version in try await connection.query(
                "SELECT version FROM streams WHERE stream_name = \(stream.description)", logger: logger
            ).decode(Int64.self) { actual = version }
            guard expected.isSatisfied(by: actual) else {
                throw EventStoreError.wrongExpectedVersion(stream: stream, expected: expected, actual: actual)
            }
            for (offset, event) in events.enumerated() {
                let position = head + Int64(offset) + 1
                let version = actual + Int64(offset) + 1
                try await connection.query(
                    """
                    INSERT INTO events (position, event_id, stream_name, category, stream_version, type,
                                        schema_version, data, metadata, recorded_at)
                    VALUES (\(position), \(event.id), \(stream.description), \(stream.category), \(version), \(event.type),
                            \(event.schemaVersion), \(String(decoding: event.data, as: UTF8.self))::json,
                            \(String(decoding: event.metadata.jsonData(), as: UTF8.self))::json, \(recordedAt))
                    """, logger: logger)
            }
            let last = head + Int64(events.count)
            let newVersion = actual + Int64(events.count)
            try await connection.query(
                """
                INSERT INTO streams (stream_name, version, last_position, last_written_at)
                VALUES (\(stream.description), \(newVersion), \(last), \(recordedAt))
                ON CONFLICT (stream_name) DO UPDATE SET
                    version = excluded.version, last_position = excluded.last_position,
                    last_written_at = excluded.last_written_at
                """, logger: logger)
            try await connection.query("UPDATE chronicle_head SET position = \(last) WHERE id = 1", logger: logger)
            // Delivered at COMMIT; only a wake-up hint.
            try await connection.execute(
                "SELECT pg_notify(\(Self.channel), current_schema() || ':' || \(String(last)))", logger: logger)
            return AppendResult(
                streamVersion: newVersion, firstPosition: GlobalPosition(rawValue: head + 1),
                lastPosition: GlobalPosition(rawValue: last), wasAlreadyStored: false)
        }
        if !result.wasAlreadyStored { appendSignal.announce(result.lastPosition) }
        return result
    }

    public func read(_ stream: StreamName, from version: StreamVersion, direction: ReadDirection, limit: Int) async throws
        -> [RecordedEvent]
    {
        try AppendRules.validateRead(limit: limit, version: version)
        return try await database.withConnection { connection in
            switch direction {
            case .forwards:
                try await Self.fetch(
                    "\(unescaped: Self.columns) WHERE stream_name = \(stream.description) AND stream_version >= \(version) ORDER BY stream_version LIMIT \(limit)",
                    connection, self.logger)
            case .backwards:
                try await Self.fetch(
                    "\(unescaped: Self.columns) WHERE stream_name = \(stream.description) AND stream_version <= \(version) ORDER BY stream_version DESC LIMIT \(limit)",
                    connection, self.logger)
            }
        }
    }

    public func readAll(after position: GlobalPosition, limit: Int) async throws -> [RecordedEvent] {
        try AppendRules.validateRead(limit: limit)
        return try await database.withConnection { connection in
            try await Self.fetch(
                "\(unescaped: Self.columns) WHERE position > \(position.rawValue) ORDER BY position LIMIT \(limit)", connection, self.logger)
        }
    }

    public func readCategory(_ category: String, after position: GlobalPosition, limit: Int) async throws -> [RecordedEvent] {
        try AppendRules.validateRead(limit: limit)
        return try await database.withConnection { connection in
            try await Self.fetch(
                "\(unescaped: Self.columns) WHERE category = \(category) AND position > \(position.rawValue) ORDER BY position LIMIT \(limit)",
                connection, self.logger)
        }
    }

    public func version(of stream: StreamName) async throws -> StreamVersion {
        try await database.withConnection { connection in
            var version: StreamVersion = 0
            for try await v in try await connection.query(
                "SELECT version FROM streams WHERE stream_name = \(stream.description)", logger: self.logger
            ).decode(Int64.self) { version = v }
            return version
        }
    }

    public func streams(after name: StreamName?, limit: Int) async throws -> [StreamInfo] {
        try AppendRules.validateRead(limit: limit)
        return try await database.withConnection { connection in
            var streams: [StreamInfo] = []
            let rows = try await connection.query(
                """
                SELECT stream_name, version, last_position, last_written_at FROM streams
                WHERE stream_name > \(name?.description ?? "") ORDER BY stream_name LIMIT \(limit)
                """, logger: self.logger)
            for try await (stream, version, last, at) in rows.decode((String, Int64, Int64, Date).self) {
                streams.append(
                    StreamInfo(name: try StreamName(stream), version: version, lastPosition: GlobalPosition(rawValue: last), lastWrittenAt: at))
            }
            return streams
        }
    }

    public func event(id: UUID) async throws -> RecordedEvent? {
        try await database.withConnection { connection in
            try await Self.fetch("\(unescaped: Self.columns) WHERE event_id = \(id)", connection, self.logger).first
        }
    }

    public func events(correlatedWith correlationId: UUID, limit: Int) async throws -> [RecordedEvent] {
        try AppendRules.validateRead(limit: limit)
        return try await database.withConnection { connection in
            try await Self.fetch(
                "\(unescaped: Self.columns) WHERE metadata->>'correlation_id' = \(correlationId.uuidString.lowercased()) ORDER BY position LIMIT \(limit)",
                connection, self.logger)
        }
    }

    public func headPosition() async throws -> GlobalPosition {
        try await database.withConnection { connection in
            var head: Int64 = 0
            for try await position in try await connection.query(
                "SELECT COALESCE(MAX(position), 0) FROM events", logger: self.logger
            ).decode(Int64.self) { head = position }
            return GlobalPosition(rawValue: head)
        }
    }

    /// Wakes this process's readers on every append of any process, until the task is cancelled.
    /// Reconnects after a lost connection; readers poll meanwhile, so nothing is missed.
    public func listen() async {
        while !Task.isCancelled {
            do {
                // Bounded only by cancellation: a shutdown must not wait on a connection PostgreSQL dropped.
                try await database.withDeadline(.seconds(86_400 * 365)) {
                    try await self.database.client.withConnection { connection in
                        // The channel is database-wide: a notification names its schema, and only this
                        // store's schema wakes it (another deployment's high positions would otherwise
                        // hide this one's appends from its waiters).
                        var schema = ""
                        for try await name in try await connection.query("SELECT current_schema()", logger: self.logger).decode(String.self) {
                            schema = name
                        }
                        let prefix = schema + ":"
                        try await connection.listen(on: Self.channel) { notifications in
                            for try await notification in notifications where notification.payload.hasPrefix(prefix) {
                                if let position = Int64(notification.payload.dropFirst(prefix.count)) {
                                    self.appendSignal.announce(GlobalPosition(rawValue: position))
                                }
                            }
                        }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("listening for appends failed; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    static let columns = """
        SELECT position, event_id, stream_name, stream_version, type, schema_version, data::text, metadata::text, recorded_at
        FROM events
        """

    static func fetch(_ query: PostgresQuery, _ connection: PostgresConnection, _ logger: Logger) async throws -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        let rows = try await connection.query(query, logger: logger)
        for try await (position, id, stream, version, type, schemaVersion, data, metadata, recordedAt) in rows.decode(
            (Int64, UUID, String, Int64, String, Int, String, String, Date).self)
        {
            events.append(
                RecordedEvent(
                    id: id, stream: try StreamName(stream), version: version, position: GlobalPosition(rawValue: position),
                    type: type, schemaVersion: schemaVersion, data: Data(data.utf8),
                    metadata: try Metadata.fromJSON(Data(metadata.utf8)), recordedAt: recordedAt))
        }
        return events
    }
}
