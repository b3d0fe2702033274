import Chronicle
@testable import ChroniclePostgres
import ChronicleTesting
import Foundation
import Logging
import Synchronization
import Testing

/// The PostgreSQL suites run against the server in `DATABASE_URL` (scripts/test starts a throwaway one).
/// Without it they skip locally, and fail in CI (CI=true): a missing database must never pass silently.
enum PostgresTestDatabase {
    static let url = ProcessInfo.processInfo.environment["DATABASE_URL"]
    static let isRequired = ProcessInfo.processInfo.environment["CI"] == "true"
    static let isAvailable = url != nil || isRequired

    /// Runs `body` with a migrated database in a fresh schema of its own, dropped afterwards.
    static func withDatabase<T: Sendable>(_ body: (PostgresDatabase) async throws -> T) async throws -> T {
        guard let url else {
            Issue.record("DATABASE_URL is not set: run scripts/test, which starts a throwaway PostgreSQL")
            throw CancellationError()
        }
        return try await PostgresDatabase.withTemporarySchema(url: url) { database, _ in try await body(database) }
    }
}

@Suite(.enabled(if: PostgresTestDatabase.isAvailable, "set DATABASE_URL (scripts/test starts a throwaway PostgreSQL)"))
struct PostgresStoreTests {
    @Test(arguments: StoreContract.checks)
    func keepsTheStoreContract(_ check: StoreContractCheck) async throws {
        try await PostgresTestDatabase.withDatabase { database in
            let store = PostgresEventStore(database: database)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await store.listen() }
                defer { group.cancelAll() }
                try await check.run(store)
            }
        }
    }

    @Test func checkpointStoreKeepsTheContract() async throws {
        try await PostgresTestDatabase.withDatabase { database in
            try await CheckpointStoreContract.run(PostgresCheckpointStore(database: database))
        }
    }

    /// Group commit: appends made at once by one process share statements (and commits), each still
    /// answered for itself — a conflict or a body PostgreSQL refuses in one leaves its neighbours written.
    @Test func concurrentAppendsShareStatementsAndAreEachAnsweredAlone() async throws {
        try await PostgresTestDatabase.withDatabase { database in
            let store = PostgresEventStore(database: database)
            let appends = 64
            let outcomes = await withTaskGroup(of: (Int, Result<AppendResult, any Error>).self) { group in
                for n in 0..<appends {
                    group.addTask {
                        // Every fourth one expects a stream that another append of the same group creates;
                        // one sends a body that is not JSON.
                        let expected: ExpectedVersion = n % 4 == 3 ? .noStream : .any
                        let stream = n % 4 == 3 ? "shared-1" : "own-\(n)"
                        let event = n == 10 ? NewEvent(id: UUID(), type: "Broken", data: Data("not json".utf8)) : StoreContract.event()
                        do {
                            return (n, .success(try await store.append([event], to: StreamName(stream), expecting: expected)))
                        } catch {
                            return (n, .failure(error))
                        }
                    }
                }
                var all: [Int: Result<AppendResult, any Error>] = [:]
                for await (n, outcome) in group { all[n] = outcome }
                return all
            }
            // 47 own streams (not the broken one) and one of the 16 new-stream appenders to the shared stream.
            #expect(outcomes.values.count { (try? $0.get()) != nil } == 48)
            #expect(throws: EventStoreError.self) { try outcomes[10]?.get() }
            let conflicts = outcomes.values.count {
                if case .failure(EventStoreError.wrongExpectedVersion) = $0 { true } else { false }
            }
            #expect(conflicts == 15)
            #expect(try await store.headPosition() == 48)
            let positions = try await store.readAll(after: .start, limit: 100).map(\.position.rawValue)
            #expect(positions == Array(1...48))
            #expect(store.appendCommits < appends / 2, "\(store.appendCommits) statements for \(appends) appends")
        }
    }

    @Test func snapshotStoreKeepsTheContract() async throws {
        try await PostgresTestDatabase.withDatabase { database in
            try await SnapshotStoreContract.run(PostgresSnapshotStore(database: database))
        }
    }

    @Test func migrationsAreVersionedAndIdempotent() async throws {
        try await PostgresTestDatabase.withDatabase { database in
            try await database.migrate()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<3 { group.addTask { try await database.migrate() } }
                try await group.waitForAll()
            }
            #expect(try await database.appliedMigrations() == [1, 2, 3, 4, 5, 6])
        }
    }
}

@Suite(.enabled(if: PostgresTestDatabase.isAvailable, "set DATABASE_URL (scripts/test starts a throwaway PostgreSQL)"))
struct OutstandingAppendProbeTests {
    /// An append that holds its position uncommitted (a trigger keeps its transaction open after the
    /// insert, until the test lets it go) while another append tries to commit: the tailing reader must
    /// see the held event first and never skip it. Against positions from a sequence, the second append
    /// commits position 2 while 1 is still outstanding, and a reader that moved its checkpoint to 2 never
    /// reads 1. The slow append is let go only once the fast one is waiting on it, so the test never
    /// depends on timing.
    @Test func aReaderNeverSkipsAnAppendThatCommitsLate() async throws {
        try await PostgresTestDatabase.withDatabase { database in
            try await database.execute("CREATE TABLE chronicle_probe_release (released boolean)")
            try await database.execute(
                """
                CREATE FUNCTION chronicle_probe_hold() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.type = 'SlowProbe' THEN
                        -- Each loop's SELECT sees what committed since (READ COMMITTED).
                        WHILE NOT EXISTS (SELECT 1 FROM chronicle_probe_release) LOOP PERFORM pg_sleep(0.01); END LOOP;
                    END IF;
                    RETURN NEW;
                END $$
                """)
            try await database.execute(
                "CREATE TRIGGER chronicle_probe AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION chronicle_probe_hold()")
            let store = PostgresEventStore(database: database)
            let slow = StoreContract.event("SlowProbe")
            let fast = StoreContract.event("FastProbe")
            let results = Results()
            /// The number `sql` answers (0 when it fails).
            @Sendable func count(_ sql: String) async -> Int64 {
                (try? await database.rows(SQLStatement(sql)).first?.values.first?.integer) ?? 0
            }
            // A reader that skipped position 1 sees only [2] and fails below (after the timeout).
            let seen = try await tailLog(of: store, expecting: 2, pollInterval: .milliseconds(10), timeout: .seconds(60)) {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { results.slow = try await store.append([slow], to: StreamName("probe-slow"), expecting: .any) }
                    // The slow append's transaction, its event inserted, held in the trigger.
                    var held: Int64 = 0
                    await eventually(timeout: .seconds(30), "the slow append holds its position") {
                        held = await count(
                            """
                            SELECT COALESCE(max(backend_xid::text::bigint), 0) FROM pg_stat_activity
                            WHERE wait_event = 'PgSleep' AND datname = current_database() AND backend_xid IS NOT NULL
                            """)
                        return held > 0
                    }
                    // From another store (as from another process): appends of one store are queued behind
                    // each other and written together, so they never race on the database.
                    let other = PostgresEventStore(database: database)
                    group.addTask { results.fast = try await other.append([fast], to: StreamName("probe-fast"), expecting: .any) }
                    // Let go once the fast append waits for the slow one's transaction (with positions from a
                    // sequence it would not wait, and this fails).
                    await eventually(timeout: .seconds(30), "the fast append waits for the slow one") {
                        await count(
                            "SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted AND transactionid::text = '\(held)'"
                        ) > 0
                    }
                    try await database.execute("INSERT INTO chronicle_probe_release VALUES (true)")
                    try await group.waitForAll()
                }
            }
            let (slowResult, fastResult) = (try #require(results.slow), try #require(results.fast))
            #expect(slowResult.lastPosition == 1)
            #expect(fastResult.lastPosition == 2)
            #expect(seen.map(\.id) == [slow.id, fast.id])
            #expect(seen.map(\.position) == [1, 2])
        }
    }
}

/// The two appends' results, written by the writers' tasks.
final class Results: @unchecked Sendable {
    // @unchecked: each property is written by one task and read after both finished.
    var slow: AppendResult?
    var fast: AppendResult?
}

@Suite(.enabled(if: PostgresTestDatabase.isAvailable, "set DATABASE_URL (scripts/test starts a throwaway PostgreSQL)"))
struct PostgresProjectionTests {
    static func counts(_ database: PostgresDatabase, _ model: CountingReadModel = CountingReadModel()) async throws -> [String: Int64] {
        CountingReadModel.counts(try await database.rows(model.query))
    }

    static func twoEvents(_ store: PostgresEventStore) async throws -> [RecordedEvent] {
        _ = try await store.append([StoreContract.event("A"), StoreContract.event("B")], to: StreamName("thing-1"), expecting: .any)
        return try await store.readAll(after: .start, limit: 10)
    }

    /// Invariant 4, pinned without a kill: the checkpoint write fails (a trigger refuses it), so rows
    /// written in a transaction of their own would stay.
    @Test func aFailingCheckpointWriteKeepsNoRows() async throws {
        try await PostgresTestDatabase.withDatabase { database in
            let events = try await Self.twoEvents(PostgresEventStore(database: database))
            let projection = try await PostgresProjection(CountingReadModel(), database: database).prepared()
            try await database.execute(
                """
                CREATE FUNCTION refuse_checkpoint() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN IF NEW.name = 'type_counts' THEN RAISE EXCEPTION 'checkpoint refused'; END IF; RETURN NEW; END $$
                """)
            try await database.execute(
                "CREATE TRIGGER refuse_checkpoint BEFORE INSERT OR UPDATE ON checkpoints FOR EACH ROW EXECUTE FUNCTION refuse_checkpoint()")
            await #expect(throws: (any Error).self) { try await projection.consume(events) }
            #expect(try await Self.counts(database).isEmpty)
            #expect(try await projection.checkpoint() == .start)
        }
    }

    /// Invariant: a worker whose ownership epoch was superseded writes nothing, neither rows nor
    /// checkpoint, and learns why (`OwnershipLost`).
    @Test func aSupersededOwnerCanWriteNeitherRowsNorCheckpoint() async throws {
        try await PostgresTestDatabase.withDatabase { database in
            let events = try await Self.twoEvents(PostgresEventStore(database: database))
            let fence = SubscriptionFence(name: "type_counts")
            let projection = try await PostgresProjection(CountingReadModel(), database: database, fence: fence).prepared()
            let checkpoints = PostgresCheckpointStore(database: database, fence: fence)
            try await database.execute(
                "INSERT INTO subscription_owners (name, epoch, owner, acquired_at) VALUES ('type_counts', 2, 'the-new-owner', now())")
            fence.hold(1)  // this worker took ownership at epoch 1; another has taken it since.
            await #expect(throws: OwnershipLost.self) { try await projection.consume(events) }
            await #expect(throws: OwnershipLost.self) { try await checkpoints.store(2, for: "type_counts") }
            await #expect(throws: OwnershipLost.self) { try await projection.reset() }
            #expect(try await Self.counts(database).isEmpty)
            #expect(try await projection.checkpoint() == .start)
            // The current owner writes.
            fence.hold(2)
            try await projection.consume(events)
            #expect(try await Self.counts(database) == ["A": 1, "B": 1])
            #expect(try await projection.checkpoint() == 2)
        }
    }

    @Test func resettingOneProjectionLeavesEveryOtherCheckpoint() async throws {
        try await PostgresTestDatabase.withDatabase { database in
            try await SQLProjectionContract.resettingOneLeavesEveryOtherCheckpoint(
                store: PostgresEventStore(database: database), checkpoints: PostgresCheckpointStore(database: database),
                projection: { try await PostgresProjection($0, database: database).prepared() }, rows: { try await database.rows($0) })
        }
    }

    @Test func aReplicaIsSwappedInOnlyOnceCaughtUp() async throws {
        try await PostgresTestDatabase.withDatabase { database in
            let schemas = Mutex<[String]>([])
            // Built as a runtime builds one: holding the replica's lock, so that no sweep takes it meanwhile.
            try await PostgresReplica.building(CountingReadModel(name: "counts_live"), in: database) { held in
                try await SQLProjectionContract.aReplicaIsSwappedInOnlyOnceCaughtUp(
                    store: PostgresEventStore(database: database), checkpoints: PostgresCheckpointStore(database: database),
                    projection: { try await PostgresProjection($0, database: database).prepared() },
                    replica: { model in
                        #expect(model.name == held.model.name)
                        schemas.withLock { $0.append(held.schema) }
                        return held
                    }, rows: { try await database.rows($0) })
            }
            // The replica's schema is gone with it.
            let schema = try #require(schemas.withLock { $0.first })
            #expect(try await database.rows(SQLStatement("SELECT nspname FROM pg_namespace WHERE nspname = ?", [.text(schema)])).isEmpty)
        }
    }

    /// The notification channel is database-wide: a deployment in another schema of the same database must
    /// not wake this one's readers — worse, its higher positions would hide this one's appends from them.
    @Test func appendsInAnotherSchemaDoNotWakeThisSchemasReaders() async throws {
        try await PostgresTestDatabase.withDatabase { mine in
            try await PostgresTestDatabase.withDatabase { other in
                let listening = PostgresEventStore(database: mine)
                // Another process's store on this schema: its appends reach `listening` only by NOTIFY.
                let writer = PostgresEventStore(database: mine)
                let stranger = PostgresEventStore(database: other)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { await listening.listen() }
                    defer { group.cancelAll() }
                    // Until LISTEN is in place, appends go unheard: append until one is heard.
                    await eventually("the listener hears this schema's appends") {
                        _ = try? await writer.append([StoreContract.event()], to: StreamName("mine-1"), expecting: .any)
                        return listening.appendSignal.latest > .start
                    }
                    _ = try await stranger.append((0..<100).map { StoreContract.event("Foreign", $0) }, to: StreamName("theirs-1"), expecting: .any)
                    let next = try await writer.append([StoreContract.event()], to: StreamName("mine-1"), expecting: .any)
                    await eventually("the listener hears this schema's next append") { listening.appendSignal.latest == next.lastPosition }
                    #expect(listening.appendSignal.latest == next.lastPosition, "a foreign position \(listening.appendSignal.latest) was announced")
                }
            }
        }
    }

    @Test func readModelValuesRoundTripExactly() async throws {
        try await PostgresTestDatabase.withDatabase { database in
            try await SQLValueContract.valuesRoundTripExactly(
                store: PostgresEventStore(database: database), projection: { try await PostgresProjection($0, database: database).prepared() },
                rows: { try await database.rows($0) })
        }
    }
}

/// A database that is away fails an operation within its deadline, as unavailable, naming host and
/// port and never the password — a command does not hang for ever.
@Suite struct PostgresUnreachableTests {
    @Test(.timeLimit(.minutes(1)))
    func anOperationOnAnUnreachableServerFailsWithinItsDeadline() async throws {
        let database = try PostgresDatabase(url: "postgres://chronicle:hunter2@127.0.0.1:1/nowhere", operationTimeout: .seconds(2))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.run() }
            defer { group.cancelAll() }
            let store = PostgresEventStore(database: database)
            let started = ContinuousClock.now
            do {
                _ = try await store.append([StoreContract.event()], to: StreamName("thing-1"), expecting: .any)
                Issue.record("an append to an unreachable server succeeded")
            } catch let error as EventStoreError {
                #expect(error.isTransient, "\(error)")
                #expect(error.description.contains("127.0.0.1:1"), "\(error)")
                #expect(!error.description.contains("hunter2"))
            }
            #expect(started.duration(to: .now) < .seconds(20))
        }
    }
}
