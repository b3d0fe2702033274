import Chronicle
import Foundation
import Logging
import PostgresNIO
import _ConnectionPoolModule
import Synchronization

/// A PostgreSQL database holding Chronicle's tables: a running `PostgresClient` and the schema's migrations.
public final class PostgresDatabase: Sendable {
    /// The client (it must be running: call ``run()`` in a task, or add the client to a service group).
    public let client: PostgresClient
    /// Where the server is, `host:port`, for messages (never the password).
    public let endpoint: String
    /// How long an operation may wait for the server (a connection, a lock, an answer) before it fails
    /// as unavailable (default 10 s): a request never hangs while the database is away.
    public let operationTimeout: Duration
    /// How to open one connection outside the pool, to say why the pool cannot (``diagnose()``).
    let directConnection: PostgresConnection.Configuration?
    let logger: Logger
    /// Whether the last operation failed as unavailable (and none has succeeded since).
    private let outage = Mutex(false)

    /// A database reached through `client`.
    public convenience init(
        client: PostgresClient, endpoint: String = "PostgreSQL", operationTimeout: Duration = .seconds(10),
        logger: Logger = Logger(label: "chronicle.postgres")
    ) {
        self.init(client: client, endpoint: endpoint, operationTimeout: operationTimeout, directConnection: nil, logger: logger)
    }

    private init(
        client: PostgresClient, endpoint: String, operationTimeout: Duration, directConnection: PostgresConnection.Configuration?,
        logger: Logger
    ) {
        self.client = client
        self.endpoint = endpoint
        self.operationTimeout = operationTimeout
        self.directConnection = directConnection
        self.logger = logger
    }

    /// A database at `url` (`postgres://user:password@host:port/database`), without TLS (loopback and
    /// private networks); `searchPath` puts Chronicle's tables in a schema of their own.
    /// `password`, when given, replaces the URL's (so that it need not appear in a command line).
    public convenience init(
        url: String, password: String? = nil, searchPath: String? = nil, operationTimeout: Duration = .seconds(10),
        logger: Logger = Logger(label: "chronicle.postgres")
    ) throws {
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme ?? ""),
            let host = components.host, !host.isEmpty
        else {
            // The URL may hold a password: never repeat it.
            throw EventStoreError.storage("not a PostgreSQL URL (postgres://user@host:port/database expected)")
        }
        let port = components.port ?? 5432
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: components.user ?? "postgres",
            password: password ?? components.password, database: components.path.isEmpty ? nil : String(components.path.dropFirst()),
            tls: .disable)
        configuration.options.connectTimeout = min(operationTimeout, .seconds(10))
        // `?search_path=schema` in the URL works like `searchPath`.
        let schema = searchPath ?? components.queryItems?.first { $0.name == "search_path" }?.value
        if let schema { configuration.options.additionalStartupParameters = [("search_path", schema)] }
        var direct = PostgresConnection.Configuration(
            host: host, port: port, username: configuration.username, password: configuration.password,
            database: configuration.database, tls: .disable)
        direct.options.connectTimeout = .seconds(5)
        self.init(
            client: PostgresClient(configuration: configuration, backgroundLogger: ClientLogHandler.filtering(logger)), endpoint: "\(host):\(port)",
            operationTimeout: operationTimeout, directConnection: direct, logger: logger)
    }

    /// For tests: runs `body` with a migrated database in a fresh schema of its own at `url`, and drops
    /// the schema afterwards.
    public static func withTemporarySchema<T: Sendable>(url: String, _ body: (PostgresDatabase, String) async throws -> T)
        async throws -> T
    {
        let schema = "chronicle_test_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
        let admin = try PostgresDatabase(url: url)
        let database = try PostgresDatabase(url: url, searchPath: schema)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await admin.run() }
            let pool = Task { await database.run() }
            defer {
                pool.cancel()
                group.cancelAll()
            }
            // The schema's own connections are closed first — what `body` left running (a subscription in a
            // transaction) must not deadlock with the drop — and a drop that still meets a lock is tried again.
            func drop() async throws {
                pool.cancel()
                await pool.value
                for attempt in 1...5 {
                    do {
                        return try await admin.execute("DROP SCHEMA \(unescaped: schema) CASCADE")
                    } catch  where attempt < 5 {
                        try? await Task.sleep(for: .milliseconds(100 * attempt))
                    }
                }
            }
            try await admin.execute("CREATE SCHEMA \(unescaped: schema)")
            do {
                try await database.migrate()
                let result = try await body(database, schema)
                try await drop()
                return result
            } catch {
                try? await drop()
                throw error
            }
        }
    }

    /// Runs the client's connection pool until the task is cancelled.
    public func run() async {
        await client.run()
    }

    /// Runs `body` in one transaction, with `lock_timeout` and `statement_timeout` set so that a stuck
    /// writer cannot stall everyone forever. Errors thrown by `body` come out unwrapped.
    /// A transaction that does not end within ``operationTimeout`` is cancelled and fails as
    /// ``EventStoreError/unavailable(_:)``.
    public func withTransaction<T: Sendable>(_ body: @Sendable @escaping (PostgresConnection) async throws -> T) async throws -> T {
        try await withDeadline {
            do {
                return try await self.client.withTransaction(logger: self.logger) { connection in
                    try await connection.query("SET LOCAL lock_timeout = '5s'", logger: self.logger)
                    try await connection.query("SET LOCAL statement_timeout = '30s'", logger: self.logger)
                    return try await body(connection)
                }
            } catch let error as PostgresTransactionError {
                if let inner = error.closureError { throw self.mapped(inner) }
                if let commit = error.commitError { throw self.mapped(commit) }
                if let begin = error.beginError { throw self.mapped(begin) }
                throw EventStoreError.storage(String(reflecting: error))
            } catch {
                throw self.mapped(error)
            }
        }
    }

    /// Runs `body` on a pooled connection outside a transaction, within ``operationTimeout``.
    public func withConnection<T: Sendable>(_ body: @Sendable @escaping (PostgresConnection) async throws -> T) async throws -> T {
        try await withDeadline {
            do {
                return try await self.client.withConnection { connection in try await body(connection) }
            } catch {
                throw self.mapped(error)
            }
        }
    }

    /// Runs `body`, and fails with ``EventStoreError/unavailable(_:)`` when `timeout` (default
    /// ``operationTimeout``) passes first: the server is away or too slow. `body` is cancelled then, and
    /// also when the caller is.
    ///
    /// The caller gets its answer at the deadline even when `body` does not stop on cancellation (a query
    /// on a connection the server dropped during a restart may never return): `body` runs in a task of
    /// its own rather than a task group, which would wait for it. That is what lets a command answer 503
    /// and a graceful shutdown finish while PostgreSQL is away.
    public func withDeadline<T: Sendable>(
        _ timeout: Duration? = nil, _ body: @Sendable @escaping () async throws -> T
    ) async throws -> T {
        guard timeout == nil else { return try await within(timeout ?? operationTimeout, body) }
        // While the server is known to be away, an operation waits ``outageTimeout`` at most: a request
        // that makes several (a snapshot, then the stream) is answered 503 within the first's deadline.
        let away = outage.withLock { $0 }
        do {
            let value = try await within(away ? min(operationTimeout, Self.outageTimeout) : operationTimeout, body)
            if away { outage.withLock { $0 = false } }
            return value
        } catch let error as EventStoreError {
            // Only the server being away counts (no connection, no answer in time), not a lock timeout
            // or a serialization failure under load, which are unavailable too but pass by themselves.
            if case .unavailable(let reason) = error, !away, reason.hasPrefix(Self.awayPrefix) { outage.withLock { $0 = true } }
            throw error
        }
    }

    /// How long an operation waits while the server is known to be away (an earlier one failed as
    /// unavailable and none has succeeded since).
    static let outageTimeout: Duration = .seconds(2)
    /// How the reasons of "the server is away" begin (a connection that fails, an operation unanswered).
    static let awayPrefix = "PostgreSQL at "

    private func within<T: Sendable>(_ timeout: Duration, _ body: @Sendable @escaping () async throws -> T) async throws -> T {
        let endpoint = self.endpoint
        let answer = FirstAnswer<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                answer.start(continuation)
                answer.work(
                    Task {
                        do { answer.give(.success(try await body())) } catch { answer.give(.failure(error)) }
                    },
                    timer: Task {
                        try await Task.sleep(for: timeout)
                        answer.give(.failure(EventStoreError.unavailable("PostgreSQL at \(endpoint) did not answer within \(timeout)")))
                    })
            }
        } onCancel: {
            answer.give(.failure(CancellationError()))
        }
    }

    /// Why no connection can be opened now, in PostgreSQL's words ("password authentication failed for
    /// user …", "connection refused"), never with the password; nil when one can.
    public func diagnose() async -> String? {
        do {
            try await connectDirectly()
            return nil
        } catch let error as PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            if let underlying = error.underlying { return String(describing: underlying) }
            return String(describing: error.code)
        } catch {
            return String(describing: error)
        }
    }

    /// Why this database can never be used as configured — an unknown role or database, a wrong password
    /// (PostgreSQL's own words) — or nil when a connection opens or fails for a reason that may pass (the
    /// server is down or starting): a process checks it once before it starts, to stop at once with the
    /// reason rather than retry what cannot work.
    public func permanentFailure() async -> String? {
        do {
            try await connectDirectly()
            return nil
        } catch let error as PSQLError {
            // 28: invalid authorization (role, password); 3D: no such database; 42501: no permission.
            guard let state = error.serverInfo?[.sqlState], state.hasPrefix("28") || state.hasPrefix("3D") || state == "42501" else {
                return nil
            }
            return "cannot use PostgreSQL at \(endpoint): \(error.serverInfo?[.message] ?? state)"
        } catch {
            return nil
        }
    }

    /// Opens one connection outside the pool (within 6 s) and closes it again.
    private func connectDirectly() async throws {
        guard let directConnection else { return }
        let connection = try await withDeadline(.seconds(6)) {
            try await PostgresConnection.connect(configuration: directConnection, id: 0, logger: self.logger)
        }
        try? await connection.close()
    }

    /// Runs one statement on a pooled connection, outside a transaction.
    public func execute(_ query: PostgresQuery) async throws {
        try await withConnection { connection in _ = try await connection.query(query, logger: self.logger) }
    }

    /// PostgreSQL's errors as ``EventStoreError``s: a lost or refused connection, a server shutting
    /// down, a full disk, a lock or statement timeout, a serialization failure may pass (``EventStoreError/unavailable(_:)``);
    /// anything else is a storage error.
    func mapped(_ error: any Error) -> any Error {
        if let error = error as? ConnectionPoolError {
            // The pool stops trying after connections kept failing (its circuit breaker), or is shut down.
            return EventStoreError.unavailable("PostgreSQL at \(endpoint) cannot be reached (\(error))")
        }
        guard let error = error as? PSQLError else { return error }
        guard let state = error.serverInfo?[.sqlState] else {
            return EventStoreError.unavailable("PostgreSQL at \(endpoint) cannot be reached (\(error.code))")
        }
        let message = error.serverInfo?[.message] ?? String(describing: error.code)
        let transientClasses = ["08", "53", "57", "40"]  // connection, resources, operator intervention, rollback
        if transientClasses.contains(String(state.prefix(2))) || state == "55P03" {
            return EventStoreError.unavailable("PostgreSQL \(state): \(message)")
        }
        return EventStoreError.storage("PostgreSQL \(state): \(message)")
    }

    /// Brings the schema up to date. Safe to run from several processes at once: migrations are applied
    /// one at a time under an advisory lock, and an applied migration is never applied again.
    public func migrate() async throws {
        try await withConnection { connection in
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS chronicle_migrations (
                    version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
                """, logger: self.logger)
        }
        for migration in Self.migrations {
            try await withTransaction { connection in
                try await connection.takeMigrationLock(logger: self.logger)
                let applied = try await connection.query(
                    "SELECT version FROM chronicle_migrations WHERE version = \(migration.version)", logger: self.logger)
                for try await _ in applied { return }
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: self.logger)
                }
                try await connection.query(
                    "INSERT INTO chronicle_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                    logger: self.logger)
            }
        }
    }

    /// The versions of the migrations applied, in order.
    public func appliedMigrations() async throws -> [Int] {
        try await withConnection { connection in
            var versions: [Int] = []
            for try await version in try await connection.query(
                "SELECT version FROM chronicle_migrations ORDER BY version", logger: self.logger
            ).decode(Int.self) { versions.append(version) }
            return versions
        }
    }

    static let migrationLock: Int64 = 0x4368_726F_6E69  // "Chroni"

    /// The schema. NOTE: a shipped migration never changes; a new schema is a new migration.
    static let migrations: [(version: Int, name: String, statements: [String])] = [
        (
            1, "events, streams, checkpoints",
            [
                // NOTE: stored format. position is the gap-free global position, assigned under the lock
                // of the one chronicle_head row, taken first in every append; data and metadata are json
                // (the exact text written, so that a re-sent event compares byte for byte).
                "CREATE TABLE chronicle_head (id integer PRIMARY KEY CHECK (id = 1), position bigint NOT NULL)",
                "INSERT INTO chronicle_head (id, position) VALUES (1, 0)",
                """
                CREATE TABLE events (
                    position bigint PRIMARY KEY,
                    event_id uuid NOT NULL UNIQUE,
                    stream_name text COLLATE "C" NOT NULL,
                    category text NOT NULL,
                    stream_version bigint NOT NULL,
                    type text NOT NULL,
                    schema_version integer NOT NULL,
                    data json NOT NULL,
                    metadata json NOT NULL,
                    recorded_at timestamptz NOT NULL,
                    UNIQUE (stream_name, stream_version)
                )
                """,
                "CREATE INDEX events_by_category ON events (category, position)",
                "CREATE INDEX events_by_correlation ON events ((metadata->>'correlation_id'), position)",
                """
                CREATE TABLE streams (
                    stream_name text COLLATE "C" PRIMARY KEY,
                    version bigint NOT NULL,
                    last_position bigint NOT NULL,
                    last_written_at timestamptz NOT NULL
                )
                """,
                "CREATE TABLE checkpoints (name text PRIMARY KEY, position bigint NOT NULL, updated_at timestamptz NOT NULL)",
            ]
        ),
        (
            2, "subscription owners",
            [
                // NOTE: one row per subscription run with ownership: the epoch grows at each takeover and
                // every fenced write checks it; owner names the worker (host and process id).
                """
                CREATE TABLE subscription_owners (
                    name text PRIMARY KEY, epoch bigint NOT NULL, owner text NOT NULL, acquired_at timestamptz NOT NULL)
                """
            ]
        ),
        (
            3, "append in one round trip",
            [
                // The whole append as one statement: the head row locked first (positions in commit order),
                // the version checked, every event inserted with one INSERT … SELECT FROM unnest, the
                // stream row and the head moved, the wake-up sent. Answers `appended` (version, first and
                // last position), `conflict` (the actual version) or `stored` (an id is in the log already:
                // the caller settles the re-send in a transaction of its own). NOTE: stored format, as v1.
                """
                CREATE FUNCTION chronicle_append(
                    p_stream text, p_category text, p_expected_kind text, p_expected bigint, p_ids uuid[], p_types text[],
                    p_schema_versions integer[], p_data text[], p_metadata text[], p_recorded_at timestamptz, p_channel text)
                RETURNS TABLE (r_outcome text, r_version bigint, r_first bigint, r_last bigint)
                LANGUAGE plpgsql AS $$
                DECLARE
                    v_head bigint;
                    v_actual bigint;
                    v_count bigint := cardinality(p_ids);
                BEGIN
                    PERFORM set_config('lock_timeout', '5s', true);
                    SELECT h.position INTO v_head FROM chronicle_head h WHERE h.id = 1 FOR UPDATE;
                    IF EXISTS (SELECT 1 FROM events e WHERE e.event_id = ANY(p_ids)) THEN
                        RETURN QUERY SELECT 'stored'::text, 0::bigint, 0::bigint, 0::bigint;
                        RETURN;
                    END IF;
                    SELECT COALESCE(max(s.version), 0) INTO v_actual FROM streams s WHERE s.stream_name = p_stream;
                    IF NOT (p_expected_kind = 'any'
                            OR (p_expected_kind = 'no_stream' AND v_actual = 0)
                            OR (p_expected_kind = 'stream_exists' AND v_actual > 0)
                            OR (p_expected_kind = 'exactly' AND v_actual = p_expected)) THEN
                        RETURN QUERY SELECT 'conflict'::text, v_actual, 0::bigint, 0::bigint;
                        RETURN;
                    END IF;
                    INSERT INTO events (position, event_id, stream_name, category, stream_version, type, schema_version,
                                        data, metadata, recorded_at)
                    SELECT v_head + u.n, u.id, p_stream, p_category, v_actual + u.n, u.type, u.schema_version,
                           u.data::json, u.metadata::json, p_recorded_at
                    FROM unnest(p_ids, p_types, p_schema_versions, p_data, p_metadata)
                         WITH ORDINALITY AS u(id, type, schema_version, data, metadata, n);
                    INSERT INTO streams (stream_name, version, last_position, last_written_at)
                    VALUES (p_stream, v_actual + v_count, v_head + v_count, p_recorded_at)
                    ON CONFLICT (stream_name) DO UPDATE SET
                        version = excluded.version, last_position = excluded.last_position,
                        last_written_at = excluded.last_written_at;
                    UPDATE chronicle_head SET position = v_head + v_count WHERE id = 1;
                    PERFORM pg_notify(p_channel, current_schema() || ':' || (v_head + v_count)::text);
                    RETURN QUERY SELECT 'appended'::text, v_actual + v_count, v_head + 1, v_head + v_count;
                END
                $$
                """
            ]
        ),
        (
            4, "appends written together",
            [
                // Group commit: the appends one process has queued, in one statement and one commit. Each
                // append is settled as chronicle_append settles one — in order, each seeing those before
                // it — in a block of its own, so that an append that fails (a body that is not JSON)
                // rolls back alone and is answered `error`. Events are given as flat arrays, append after
                // append, with each append's number of events. Answers one row per append, in order.
                // NOTE: stored format, as v1.
                """
                CREATE FUNCTION chronicle_append_all(
                    p_streams text[], p_categories text[], p_expected_kinds text[], p_expected bigint[],
                    p_counts integer[], p_ids uuid[], p_types text[], p_schema_versions integer[], p_data text[],
                    p_metadata text[], p_recorded_at timestamptz, p_channel text)
                RETURNS TABLE (r_outcome text, r_version bigint, r_first bigint, r_last bigint, r_error text)
                LANGUAGE plpgsql AS $$
                DECLARE
                    v_head bigint;
                    v_start bigint;
                    v_actual bigint;
                    v_count integer;
                    v_from integer := 1;
                    v_to integer;
                    v_id uuid;
                    v_stored boolean;
                    i integer;
                BEGIN
                    PERFORM set_config('lock_timeout', '5s', true);
                    SELECT h.position INTO v_head FROM chronicle_head h WHERE h.id = 1 FOR UPDATE;
                    v_start := v_head;
                    FOR i IN 1 .. cardinality(p_streams) LOOP
                        v_count := p_counts[i];
                        v_to := v_from + v_count - 1;
                        r_version := 0; r_first := 0; r_last := 0; r_error := NULL;
                        -- One id at a time, by equality on the unique index: `event_id = ANY(ids)` let the
                        -- planner choose (and cache, for the connection) a scan of the whole log while the
                        -- table's statistics were young.
                        v_stored := false;
                        FOREACH v_id IN ARRAY p_ids[v_from:v_to] LOOP
                            IF EXISTS (SELECT 1 FROM events e WHERE e.event_id = v_id) THEN
                                v_stored := true;
                                EXIT;
                            END IF;
                        END LOOP;
                        IF v_stored THEN
                            r_outcome := 'stored';
                        ELSE
                            SELECT s.version INTO v_actual FROM streams s WHERE s.stream_name = p_streams[i];
                            v_actual := COALESCE(v_actual, 0);
                            IF NOT (p_expected_kinds[i] = 'any'
                                    OR (p_expected_kinds[i] = 'no_stream' AND v_actual = 0)
                                    OR (p_expected_kinds[i] = 'stream_exists' AND v_actual > 0)
                                    OR (p_expected_kinds[i] = 'exactly' AND v_actual = p_expected[i])) THEN
                                r_outcome := 'conflict'; r_version := v_actual;
                            ELSE
                                BEGIN
                                    INSERT INTO events (position, event_id, stream_name, category, stream_version, type,
                                                        schema_version, data, metadata, recorded_at)
                                    SELECT v_head + u.n, u.id, p_streams[i], p_categories[i], v_actual + u.n, u.type, u.schema_version,
                                           u.data::json, u.metadata::json, p_recorded_at
                                    FROM unnest(p_ids[v_from:v_to], p_types[v_from:v_to], p_schema_versions[v_from:v_to],
                                                p_data[v_from:v_to], p_metadata[v_from:v_to])
                                         WITH ORDINALITY AS u(id, type, schema_version, data, metadata, n);
                                    INSERT INTO streams (stream_name, version, last_position, last_written_at)
                                    VALUES (p_streams[i], v_actual + v_count, v_head + v_count, p_recorded_at)
                                    ON CONFLICT (stream_name) DO UPDATE SET
                                        version = excluded.version, last_position = excluded.last_position,
                                        last_written_at = excluded.last_written_at;
                                    r_outcome := 'appended'; r_version := v_actual + v_count; r_first := v_head + 1; r_last := v_head + v_count;
                                    v_head := v_head + v_count;
                                EXCEPTION WHEN OTHERS THEN
                                    r_outcome := 'error'; r_error := SQLERRM;
                                END;
                            END IF;
                        END IF;
                        v_from := v_to + 1;
                        RETURN NEXT;
                    END LOOP;
                    IF v_head > v_start THEN
                        UPDATE chronicle_head SET position = v_head WHERE id = 1;
                        PERFORM pg_notify(p_channel, current_schema() || ':' || v_head::text);
                    END IF;
                END
                $$
                """
            ]
        ),
        (
            5, "snapshots",
            [
                // A cache of deciders' states (see SnapshotStore): the latest per stream. version is the stream
                // version the state reflects; schema_version the state encoding's.
                """
                CREATE TABLE snapshots (
                    stream_name text PRIMARY KEY, version bigint NOT NULL, schema_version integer NOT NULL,
                    data bytea NOT NULL, taken_at timestamptz NOT NULL)
                """
            ]
        ),
        (
            6, "protocol events",
            [
                // Events of KurrentDB's protocol clients: content_type is NULL for JSON text in data (every
                // event before), else the media type given, with data NULL and the bytes in data_bytes;
                // custom_metadata holds the client's metadata bytes as given (NULL when none). Dropping NOT
                // NULL and adding columns without defaults rewrite no row.
                "ALTER TABLE events ALTER COLUMN data DROP NOT NULL",
                "ALTER TABLE events ADD COLUMN data_bytes bytea, ADD COLUMN content_type text, ADD COLUMN custom_metadata bytea",
                // A stream is tombstoned once its `$streamDeleted` event is appended: nothing may follow it.
                // A constant default adds the column without rewriting the table.
                "ALTER TABLE streams ADD COLUMN tombstoned boolean NOT NULL DEFAULT false",
                // chronicle_append_all as in 4, and an append to a tombstoned stream answers `deleted`.
                """
                CREATE OR REPLACE FUNCTION chronicle_append_all(
                    p_streams text[], p_categories text[], p_expected_kinds text[], p_expected bigint[],
                    p_counts integer[], p_ids uuid[], p_types text[], p_schema_versions integer[], p_data text[],
                    p_metadata text[], p_recorded_at timestamptz, p_channel text)
                RETURNS TABLE (r_outcome text, r_version bigint, r_first bigint, r_last bigint, r_error text)
                LANGUAGE plpgsql AS $$
                DECLARE
                    v_head bigint;
                    v_start bigint;
                    v_actual bigint;
                    v_count integer;
                    v_from integer := 1;
                    v_to integer;
                    v_id uuid;
                    v_stored boolean;
                    v_tombstoned boolean;
                    i integer;
                BEGIN
                    PERFORM set_config('lock_timeout', '5s', true);
                    SELECT h.position INTO v_head FROM chronicle_head h WHERE h.id = 1 FOR UPDATE;
                    v_start := v_head;
                    FOR i IN 1 .. cardinality(p_streams) LOOP
                        v_count := p_counts[i];
                        v_to := v_from + v_count - 1;
                        r_version := 0; r_first := 0; r_last := 0; r_error := NULL;
                        -- One id at a time, by equality on the unique index: `event_id = ANY(ids)` let the
                        -- planner choose (and cache, for the connection) a scan of the whole log while the
                        -- table's statistics were young.
                        v_stored := false;
                        FOREACH v_id IN ARRAY p_ids[v_from:v_to] LOOP
                            IF EXISTS (SELECT 1 FROM events e WHERE e.event_id = v_id) THEN
                                v_stored := true;
                                EXIT;
                            END IF;
                        END LOOP;
                        IF v_stored THEN
                            r_outcome := 'stored';
                        ELSE
                            v_tombstoned := false;
                            SELECT s.version, s.tombstoned INTO v_actual, v_tombstoned FROM streams s WHERE s.stream_name = p_streams[i];
                            v_actual := COALESCE(v_actual, 0);
                            IF COALESCE(v_tombstoned, false) THEN
                                r_outcome := 'deleted'; r_version := v_actual;
                            ELSIF NOT (p_expected_kinds[i] = 'any'
                                    OR (p_expected_kinds[i] = 'no_stream' AND v_actual = 0)
                                    OR (p_expected_kinds[i] = 'stream_exists' AND v_actual > 0)
                                    OR (p_expected_kinds[i] = 'exactly' AND v_actual = p_expected[i])) THEN
                                r_outcome := 'conflict'; r_version := v_actual;
                            ELSE
                                BEGIN
                                    INSERT INTO events (position, event_id, stream_name, category, stream_version, type,
                                                        schema_version, data, metadata, recorded_at)
                                    SELECT v_head + u.n, u.id, p_streams[i], p_categories[i], v_actual + u.n, u.type, u.schema_version,
                                           u.data::json, u.metadata::json, p_recorded_at
                                    FROM unnest(p_ids[v_from:v_to], p_types[v_from:v_to], p_schema_versions[v_from:v_to],
                                                p_data[v_from:v_to], p_metadata[v_from:v_to])
                                         WITH ORDINALITY AS u(id, type, schema_version, data, metadata, n);
                                    INSERT INTO streams (stream_name, version, last_position, last_written_at)
                                    VALUES (p_streams[i], v_actual + v_count, v_head + v_count, p_recorded_at)
                                    ON CONFLICT (stream_name) DO UPDATE SET
                                        version = excluded.version, last_position = excluded.last_position,
                                        last_written_at = excluded.last_written_at;
                                    r_outcome := 'appended'; r_version := v_actual + v_count; r_first := v_head + 1; r_last := v_head + v_count;
                                    v_head := v_head + v_count;
                                EXCEPTION WHEN OTHERS THEN
                                    r_outcome := 'error'; r_error := SQLERRM;
                                END;
                            END IF;
                        END IF;
                        v_from := v_to + 1;
                        RETURN NEXT;
                    END LOOP;
                    IF v_head > v_start THEN
                        UPDATE chronicle_head SET position = v_head WHERE id = 1;
                        PERFORM pg_notify(p_channel, current_schema() || ':' || v_head::text);
                    END IF;
                END
                $$
                """,
            ]
        ),
    ]
}

/// The first of an operation's result, its deadline and its caller's cancellation; the others are dropped.
final class FirstAnswer<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var pending: Result<T, any Error>?
        var work: Task<Void, Never>?
        var timer: Task<Void, any Error>?
    }
    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<T, any Error>) {
        let early = state.withLock { state -> Result<T, any Error>? in
            if let pending = state.pending { return pending }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    func work(_ work: Task<Void, Never>, timer: Task<Void, any Error>) {
        let finished = state.withLock { state -> Bool in
            state.work = work
            state.timer = timer
            return state.pending != nil
        }
        if finished {
            work.cancel()
            timer.cancel()
        }
    }

    /// Answers the caller with `result` unless it has an answer already; stops the rest.
    func give(_ result: Result<T, any Error>) {
        let (continuation, work, timer) = state.withLock { state in
            if state.pending != nil { return (nil, nil, nil) as (CheckedContinuation<T, any Error>?, Task<Void, Never>?, Task<Void, any Error>?) }
            state.pending = result
            defer { state.continuation = nil }
            return (state.continuation, state.work, state.timer)
        }
        work?.cancel()
        timer?.cancel()
        continuation?.resume(with: result)
    }
}

extension PostgresConnection {
    /// Runs `query` and reads its answer to the end: an error PostgreSQL sends after the row description
    /// (a lock timeout while a function such as `pg_advisory_xact_lock` waits) surfaces only while the
    /// rows are read, and must fail the caller there, not the next statement with "transaction aborted".
    func execute(_ query: PostgresQuery, logger: Logger) async throws {
        for try await _ in try await self.query(query, logger: logger) {}
    }

    /// Takes the lock under which schema changes run one at a time, for the schema in use (its own
    /// search path), until the transaction ends.
    func takeMigrationLock(logger: Logger) async throws {
        try await execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('chronicle-schema:' || current_schema(), \(PostgresDatabase.migrationLock)))",
            logger: logger)
    }
}

extension PostgresQuery {
    /// A query from trusted, constant SQL text (migrations), with no binds.
    init(unsafeSQL sql: String) {
        self.init(unsafeSQL: sql, binds: PostgresBindings())
    }
}

/// The PostgreSQL client's background log, without one false alarm: "`PostgresClient.run()` hasn't been
/// called yet", which the client warns when a connection is asked for before the task that runs it has
/// started — the usual order when `run()` is started in a task and the database used at once (the lease
/// simply waits for it). Everything else passes through.
struct ClientLogHandler: LogHandler {
    var wrapped: Logger

    var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { wrapped.handler.metadata }
        set { wrapped.handler.metadata = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue }
    }

    func log(
        level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String,
        line: UInt
    ) {
        if level == .warning, message.description.hasPrefix("Trying to lease connection from `PostgresClient`, but") { return }
        wrapped.handler.log(level: level, message: message, metadata: metadata, source: source, file: file, function: function, line: line)
    }

    /// `logger`, filtered.
    static func filtering(_ logger: Logger) -> Logger {
        Logger(label: logger.label) { _ in ClientLogHandler(wrapped: logger) }
    }
}
