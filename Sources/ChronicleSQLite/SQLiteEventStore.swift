import Chronicle
import Foundation
import GRDB
import Synchronization

/// The embedded ``EventStore``: one SQLite file, WAL, every append in `BEGIN IMMEDIATE`.
///
/// Positions are `head + 1` read inside the write transaction, so they are gap-free and follow commit
/// order; unique constraints on the event id and on (stream, version) are a backstop.
public final class SQLiteEventStore: EventStore {
    /// The database file.
    public let database: SQLiteDatabase
    /// Raised after each append through this instance (other processes are found by polling).
    public let appendSignal = PositionSignal()
    private let now: @Sendable () -> Date
    private let appends = GroupCommit<PendingAppend, AppendResult>(maxBatch: 256)
    private let commits = Atomic<Int>(0)

    /// A store on `database`; `now` stamps `recordedAt`.
    public init(database: SQLiteDatabase, now: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.now = now
    }

    /// Opens (or creates) the file at `path` with the default configuration.
    public convenience init(path: String) throws {
        try self.init(database: SQLiteDatabase(path: path))
    }

    /// Appends `events`. Concurrent appends are written together (group commit): each waits for one
    /// transaction, and so one fsync, shared with every append queued meanwhile; each is still checked
    /// against its own expected version in a savepoint of its own, so a conflict or a bad event in one
    /// never fails its neighbours, and each is answered only once the shared commit is on disk.
    public func append(_ events: [NewEvent], to stream: StreamName, expecting expected: ExpectedVersion) async throws
        -> AppendResult
    {
        try AppendRules.validate(events, to: stream)
        let recordedAt = Int64((now().timeIntervalSince1970 * 1000).rounded())
        let request = PendingAppend(events: events, stream: stream, expected: expected, recordedAt: recordedAt)
        return try await appends.submit(request) { batch in try await self.commit(batch) }
    }

    /// How many transactions have written appends (for tests and metrics: group commit makes it smaller
    /// than the number of appends under concurrency).
    public var appendCommits: Int { commits.load(ordering: .relaxed) }

    /// Writes `batch` in one transaction: each append in a savepoint of its own.
    private func commit(_ batch: [PendingAppend]) async throws -> [Result<AppendResult, any Error>] {
        let outcomes = try await database.write { db in
            var head = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(position), 0) FROM events") ?? 0
            return try batch.map { request -> Result<AppendResult, any Error> in
                do {
                    var result: AppendResult?
                    try db.inSavepoint {
                        result = try Self.write(request, after: head, db)
                        return .commit
                    }
                    guard let result else { throw EventStoreError.storage("an append produced no result") }
                    if !result.wasAlreadyStored { head = result.lastPosition.rawValue }
                    return .success(result)
                } catch let error as DatabaseError {
                    // SQLite failed under the statement (a full disk, I/O): it may have rolled the whole
                    // transaction back, so the whole batch fails, mapped as any write is (a full disk is
                    // `unavailable`, to retry).
                    throw error
                } catch {
                    // The append's own refusal (a conflict, a reused id): its neighbours go on.
                    return .failure(error)
                }
            }
        }
        commits.add(1, ordering: .relaxed)
        let written = outcomes.compactMap { try? $0.get() }.filter { !$0.wasAlreadyStored }.map(\.lastPosition)
        if let last = written.max() { appendSignal.announce(last) }
        return outcomes
    }

    /// Writes one append inside the shared transaction, the log's head being `head`.
    static func write(_ request: PendingAppend, after head: Int64, _ db: Database) throws -> AppendResult {
        let (events, stream, expected) = (request.events, request.stream, request.expected)
        let stored = try storedEvents(ids: events.map(\.id), db)
        if let earlier = try AppendRules.idempotentResult(for: events, to: stream, stored: stored) { return earlier }
        let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT version, tombstoned FROM streams WHERE stream_name = ?"), arguments: [stream.description])
        let actual: StreamVersion = row?[0] ?? 0
        if row?[1] == true { throw EventStoreError.streamDeleted(stream: stream) }
        guard expected.isSatisfied(by: actual) else {
            throw EventStoreError.wrongExpectedVersion(stream: stream, expected: expected, actual: actual)
        }
        let insert = try db.cachedStatement(
            sql: """
                INSERT INTO events (position, event_id, stream_name, category, stream_version, type,
                                    schema_version, data, metadata, recorded_at, content_type, custom_metadata)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        for (offset, event) in events.enumerated() {
            // JSON text as TEXT (as always); any other payload as a BLOB, byte for byte.
            let data: any DatabaseValueConvertible =
                event.contentType.isJSONText ? String(decoding: event.data, as: UTF8.self) : event.data
            try insert.execute(arguments: [
                head + Int64(offset) + 1, event.id.lowercasedString, stream.description, stream.category,
                actual + Int64(offset) + 1, event.type, event.schemaVersion, data,
                String(decoding: event.metadata.jsonData(), as: UTF8.self), request.recordedAt, event.contentType.stored,
                event.customMetadata.isEmpty ? nil : event.customMetadata,
            ])
        }
        let last = head + Int64(events.count)
        try db.cachedStatement(
            sql: """
                INSERT INTO streams (stream_name, version, last_position, last_written_at, tombstoned) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (stream_name) DO UPDATE SET
                    version = excluded.version, last_position = excluded.last_position,
                    last_written_at = excluded.last_written_at, tombstoned = excluded.tombstoned
                """
        ).execute(arguments: [
            stream.description, actual + Int64(events.count), last, request.recordedAt, events.last?.type == NewEvent.tombstoneType,
        ])
        return AppendResult(
            streamVersion: actual + Int64(events.count), firstPosition: GlobalPosition(rawValue: head + 1),
            lastPosition: GlobalPosition(rawValue: last), wasAlreadyStored: false)
    }

    public func read(_ stream: StreamName, from version: StreamVersion, direction: ReadDirection, limit: Int) async throws
        -> [RecordedEvent]
    {
        try AppendRules.validateRead(limit: limit, version: version)
        let sql =
            switch direction {
            case .forwards:
                "\(Self.columns) WHERE stream_name = ? AND stream_version >= ? ORDER BY stream_version LIMIT ?"
            case .backwards:
                "\(Self.columns) WHERE stream_name = ? AND stream_version <= ? ORDER BY stream_version DESC LIMIT ?"
            }
        return try await fetchEvents(sql, [stream.description, version, limit])
    }

    public func readAll(after position: GlobalPosition, limit: Int) async throws -> [RecordedEvent] {
        try AppendRules.validateRead(limit: limit)
        return try await fetchEvents("\(Self.columns) WHERE position > ? ORDER BY position LIMIT ?", [position.rawValue, limit])
    }

    public func readCategory(_ category: String, after position: GlobalPosition, limit: Int) async throws -> [RecordedEvent] {
        try AppendRules.validateRead(limit: limit)
        return try await fetchEvents(
            "\(Self.columns) WHERE category = ? AND position > ? ORDER BY position LIMIT ?",
            [category, position.rawValue, limit])
    }

    public func version(of stream: StreamName) async throws -> StreamVersion {
        try await database.read { db in
            try StreamVersion.fetchOne(db, sql: "SELECT version FROM streams WHERE stream_name = ?", arguments: [stream.description]) ?? 0
        }
    }

    public func streams(after name: StreamName?, limit: Int) async throws -> [StreamInfo] {
        try AppendRules.validateRead(limit: limit)
        return try await database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM streams WHERE stream_name > ? ORDER BY stream_name LIMIT ?",
                arguments: [name?.description ?? "", limit]
            ).map { row in
                StreamInfo(
                    name: StreamName(storedName: row["stream_name"] as String), version: row["version"],
                    lastPosition: GlobalPosition(rawValue: row["last_position"]),
                    lastWrittenAt: Self.date(fromMilliseconds: row["last_written_at"]))
            }
        }
    }

    public func event(id: UUID) async throws -> RecordedEvent? {
        try await fetchEvents("\(Self.columns) WHERE event_id = ?", [id.lowercasedString]).first
    }

    public func events(correlatedWith correlationId: UUID, limit: Int) async throws -> [RecordedEvent] {
        try AppendRules.validateRead(limit: limit)
        return try await fetchEvents(
            "\(Self.columns) WHERE json_extract(metadata, '$.correlation_id') = ? ORDER BY position LIMIT ?",
            [correlationId.lowercasedString, limit])
    }

    public func headPosition() async throws -> GlobalPosition {
        try await database.read { db in
            GlobalPosition(rawValue: try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(position), 0) FROM events") ?? 0)
        }
    }

    private func fetchEvents(_ sql: String, _ arguments: StatementArguments) async throws -> [RecordedEvent] {
        try await database.read { db in
            // A cursor: each row is read in place, not copied first.
            try Array(Row.fetchCursor(db.cachedStatement(sql: sql), arguments: arguments).map(Self.event(from:)))
        }
    }

    /// The stored events among `ids`, by id: one existence check for the whole batch (almost always
    /// none), the events themselves only for ids found.
    static func storedEvents(ids: [UUID], _ db: Database) throws -> [UUID: RecordedEvent] {
        let keys = ids.map { $0.lowercasedString }
        let exists = try db.cachedStatement(sql: "SELECT 1 FROM events WHERE event_id = ?")
        guard try keys.contains(where: { try Int.fetchOne(exists, arguments: [$0]) != nil }) else { return [:] }
        var stored: [UUID: RecordedEvent] = [:]
        let statement = try db.cachedStatement(sql: "\(columns) WHERE event_id = ?")
        for (id, key) in zip(ids, keys) {
            if let row = try Row.fetchOne(statement, arguments: [key]) { stored[id] = try event(from: row) }
        }
        return stored
    }

    /// The columns ``event(from:)`` reads, by index.
    static let columns =
        """
        SELECT position, event_id, stream_name, stream_version, type, schema_version, data, metadata, recorded_at,
               content_type, custom_metadata FROM events
        """

    /// Decodes one row of ``columns``; a row the store cannot read is an error, never skipped. The stream
    /// name was validated when it was appended, and is not checked again.
    static func event(from row: Row) throws -> RecordedEvent {
        let position: Int64 = row[0]
        guard let id = UUID(text: row[1] as String) else {
            throw EventStoreError.storage("event at position \(position) has an invalid id")
        }
        return RecordedEvent(
            id: id, stream: StreamName(storedName: row[2]), version: row[3], position: GlobalPosition(rawValue: position),
            type: row[4], schemaVersion: row[5], data: row[6] as Data, metadata: try Metadata.fromJSON(row[7] as Data),
            recordedAt: date(fromMilliseconds: row[8]), contentType: EventContentType(stored: row[9]),
            customMetadata: (row[10] as Data?) ?? Data())
    }

    static func date(fromMilliseconds ms: Int64) -> Date {
        Date(timeIntervalSince1970: Double(ms) / 1000)
    }
}

/// An append waiting for the next shared transaction.
struct PendingAppend: Sendable {
    let events: [NewEvent]
    let stream: StreamName
    let expected: ExpectedVersion
    let recordedAt: Int64
}
