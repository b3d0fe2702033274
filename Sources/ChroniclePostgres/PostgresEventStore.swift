import Chronicle
import Foundation
import Logging
import PostgresNIO
import Synchronization

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
    private let appends = GroupCommit<PendingPostgresAppend, PostgresAppendOutcome>(maxBatch: 256)
    private let commits = Atomic<Int>(0)
    /// The notification channel appends announce `<schema>:<last position>` on.
    public static let channel = "chronicle_events"

    /// A store on `database` (migrated); `now` stamps `recordedAt`.
    public init(database: PostgresDatabase, now: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.now = now
    }

    private var logger: Logger { database.logger }

    /// Appends `events`. Concurrent appends of this process are written together (group commit): one
    /// statement — the `chronicle_append_all` function — locks the head row once, settles each queued
    /// append in order against its own expected version, inserts their events and answers each; one
    /// round trip and one commit for all of them. A conflict or a failing event in one never fails its
    /// neighbours. A batch holding an id that is in the log already (a re-send) is settled afterwards by
    /// ``appendResending(_:to:expecting:recordedAt:)``.
    public func append(_ events: [NewEvent], to stream: StreamName, expecting expected: ExpectedVersion) async throws
        -> AppendResult
    {
        try AppendRules.validate(events, to: stream)
        // Bytes, custom metadata and tombstones (protocol clients' events) take the transaction of a
        // re-send: the shared statement carries JSON text only.
        guard events.allSatisfy({ $0.isPlain && $0.type != NewEvent.tombstoneType }) else {
            return try await appendResending(events, to: stream, expecting: expected, recordedAt: now())
        }
        let outcome = try await appends.submit(PendingPostgresAppend(events: events, stream: stream, expected: expected)) { batch in
            try await self.commit(batch)
        }
        switch outcome.kind {
        case "appended":
            return AppendResult(
                streamVersion: outcome.version, firstPosition: GlobalPosition(rawValue: outcome.first),
                lastPosition: GlobalPosition(rawValue: outcome.last), wasAlreadyStored: false)
        case "conflict":
            throw EventStoreError.wrongExpectedVersion(stream: stream, expected: expected, actual: outcome.version)
        case "deleted":
            throw EventStoreError.streamDeleted(stream: stream)
        case "stored":
            return try await appendResending(events, to: stream, expecting: expected, recordedAt: now())
        default:
            throw EventStoreError.storage("the append failed: \(outcome.error ?? outcome.kind)")
        }
    }

    /// How many statements have written appends (group commit makes it smaller than the number of
    /// appends under concurrency).
    public var appendCommits: Int { commits.load(ordering: .relaxed) }

    /// Writes `batch` in one statement and announces what it appended.
    private func commit(_ batch: [PendingPostgresAppend]) async throws -> [Result<PostgresAppendOutcome, any Error>] {
        let outcomes = try await write(batch)
        guard outcomes.count == batch.count else {
            throw EventStoreError.storage("chronicle_append_all answered \(outcomes.count) of \(batch.count) appends")
        }
        commits.add(1, ordering: .relaxed)
        if let last = outcomes.filter({ $0.kind == "appended" }).map(\.last).max() {
            appendSignal.announce(GlobalPosition(rawValue: last))
        }
        return outcomes.map { .success($0) }
    }

    /// Writes `batch` with one call of `chronicle_append_all`; answers each append's outcome, in order.
    private func write(_ batch: [PendingPostgresAppend]) async throws -> [PostgresAppendOutcome] {
        var (streams, categories, kinds, expected) = ([String](), [String](), [String](), [Int64]())
        var (counts, ids, types, schemaVersions, data, metadata) = ([Int32](), [UUID](), [String](), [Int32](), [String](), [String]())
        for request in batch {
            streams.append(request.stream.description)
            categories.append(request.stream.category)
            let (kind, version): (String, Int64) =
                switch request.expected {
                case .any: ("any", 0)
                case .noStream: ("no_stream", 0)
                case .streamExists: ("stream_exists", 0)
                case .exactly(let n): ("exactly", n)
                }
            kinds.append(kind)
            expected.append(version)
            counts.append(Int32(request.events.count))
            for event in request.events {
                ids.append(event.id)
                types.append(event.type)
                schemaVersions.append(Int32(event.schemaVersion))
                data.append(String(decoding: event.data, as: UTF8.self))
                metadata.append(String(decoding: event.metadata.jsonData(), as: UTF8.self))
            }
        }
        let query: PostgresQuery = """
            SELECT r_outcome, r_version, r_first, r_last, r_error FROM chronicle_append_all(
                \(streams), \(categories), \(kinds), \(expected), \(counts), \(ids), \(types), \(schemaVersions), \(data),
                \(metadata), \(now()), \(Self.channel))
            """
        let logger = self.logger
        return try await database.withConnection { connection in
            var outcomes: [PostgresAppendOutcome] = []
            outcomes.reserveCapacity(batch.count)
            for try await (kind, version, first, last, error) in try await connection.query(query, logger: logger).decode((String, Int64, Int64, Int64, String?).self) {
                outcomes.append(PostgresAppendOutcome(kind: kind, version: version, first: first, last: last, error: error))
            }
            return outcomes
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

            var (actual, tombstoned): (StreamVersion, Bool) = (0, false)
            for try await (version, deleted) in try await connection.query(
                "SELECT version, tombstoned FROM streams WHERE stream_name = \(stream.description)", logger: logger
            ).decode((Int64, Bool).self) { (actual, tombstoned) = (version, deleted) }
            if tombstoned { throw EventStoreError.streamDeleted(stream: stream) }
            guard expected.isSatisfied(by: actual) else {
                throw EventStoreError.wrongExpectedVersion(stream: stream, expected: expected, actual: actual)
            }
            for (offset, event) in events.enumerated() {
                let position = head + Int64(offset) + 1
                let version = actual + Int64(offset) + 1
                try await connection.query(
                    """
                    INSERT INTO events (position, event_id, stream_name, category, stream_version, type,
                                        schema_version, data, metadata, recorded_at, data_bytes, content_type, custom_metadata)
                    VALUES (\(position), \(event.id), \(stream.description), \(stream.category), \(version), \(event.type),
                            \(event.schemaVersion), \(event.contentType.isJSONText ? String(decoding: event.data, as: UTF8.self) : nil)::json,
                            \(String(decoding: event.metadata.jsonData(), as: UTF8.self))::json, \(recordedAt),
                            \(event.contentType.isJSONText ? nil : ByteBuffer(bytes: event.data)), \(event.contentType.stored),
                            \(event.customMetadata.isEmpty ? nil : ByteBuffer(bytes: event.customMetadata)))
                    """, logger: logger)
            }
            let last = head + Int64(events.count)
            let newVersion = actual + Int64(events.count)
            try await connection.query(
                """
                INSERT INTO streams (stream_name, version, last_position, last_written_at, tombstoned)
                VALUES (\(stream.description), \(newVersion), \(last), \(recordedAt), \(events.last?.type == NewEvent.tombstoneType))
                ON CONFLICT (stream_name) DO UPDATE SET
                    version = excluded.version, last_position = excluded.last_position,
                    last_written_at = excluded.last_written_at, tombstoned = excluded.tombstoned
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
                    StreamInfo(name: StreamName(storedName: stream), version: version, lastPosition: GlobalPosition(rawValue: last), lastWrittenAt: at))
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
        SELECT position, event_id, stream_name, stream_version, type, schema_version, data::text, metadata::text, recorded_at,
               data_bytes, content_type, custom_metadata
        FROM events
        """

    static func fetch(_ query: PostgresQuery, _ connection: PostgresConnection, _ logger: Logger) async throws -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        let rows = try await connection.query(query, logger: logger)
        for try await (position, id, stream, version, type, schemaVersion, text, metadata, recordedAt, bytes, contentType, custom)
            in rows.decode((Int64, UUID, String, Int64, String, Int, String?, String, Date, ByteBuffer?, String?, ByteBuffer?).self)
        {
            // JSON text in data; any other payload's bytes in data_bytes.
            let data = text.map { Data($0.utf8) } ?? bytes.map { Data($0.readableBytesView) } ?? Data()
            events.append(
                RecordedEvent(
                    id: id, stream: StreamName(storedName: stream), version: version, position: GlobalPosition(rawValue: position),
                    type: type, schemaVersion: schemaVersion, data: data, metadata: try Metadata.fromJSON(Data(metadata.utf8)),
                    recordedAt: recordedAt, contentType: EventContentType(stored: contentType),
                    customMetadata: custom.map { Data($0.readableBytesView) } ?? Data()))
        }
        return events
    }
}

/// An append waiting for the next shared statement.
struct PendingPostgresAppend: Sendable {
    let events: [NewEvent]
    let stream: StreamName
    let expected: ExpectedVersion
}

/// What `chronicle_append_all` answered for one append: `appended` (its new version and positions),
/// `conflict` (the actual version), `stored` (an id already in the log) or `error` (why it failed).
struct PostgresAppendOutcome: Sendable {
    let kind: String
    let version: Int64
    let first: Int64
    let last: Int64
    let error: String?
}
