import Chronicle
import ChronicleSQLite
import ChronicleTesting
import Foundation
import GRDB
import Testing

@Suite struct SQLiteStoreTests {
    @Test(arguments: StoreContract.checks)
    func keepsTheStoreContract(_ check: StoreContractCheck) async throws {
        let directory = try TemporaryDirectory()
        try await check.run(SQLiteEventStore(path: directory.path("events.sqlite")))
    }

    @Test func checkpointStoreKeepsTheContract() async throws {
        let directory = try TemporaryDirectory()
        try await CheckpointStoreContract.run(SQLiteCheckpointStore(database: SQLiteDatabase(path: directory.path("c.sqlite"))))
    }

    @Test func snapshotStoreKeepsTheContract() async throws {
        let directory = try TemporaryDirectory()
        try await SnapshotStoreContract.run(SQLiteSnapshotStore(database: SQLiteDatabase(path: directory.path("s.sqlite"))))
    }

    @Test func opensInWALModeWithFullSynchronousByDefault() async throws {
        let directory = try TemporaryDirectory()
        let database = try SQLiteDatabase(path: directory.path("events.sqlite"))
        let (journal, synchronous) = try await database.read { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA synchronous"))
        }
        #expect(journal == "wal")
        #expect(synchronous == 2)  // FULL
    }

    @Test func eventsSurviveClosingAndReopeningTheFile() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("events.sqlite")
        let stream = try StreamName("thing-1")
        do {
            let store = try SQLiteEventStore(path: path)
            _ = try await store.append([StoreContract.event("A", 1), StoreContract.event("B", 2)], to: stream, expecting: .noStream)
        }
        let reopened = try SQLiteEventStore(path: path)
        #expect(try await reopened.version(of: stream) == 2)
        #expect(try await reopened.readAll(after: .start, limit: 10).map(\.type) == ["A", "B"])
        let next = try await reopened.append([StoreContract.event()], to: stream, expecting: .exactly(2))
        #expect(next.firstPosition == 3)
    }

    /// Group commit: appends made at once share transactions (and fsyncs), each still answered for
    /// itself — a conflict in one leaves its neighbours written.
    @Test func concurrentAppendsShareCommitsAndAreEachAnsweredAlone() async throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteEventStore(path: directory.path("group.sqlite"))
        let appends = 64
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for n in 0..<appends {
                group.addTask {
                    // Every fourth one expects a stream that another append of the same group creates.
                    let expected: ExpectedVersion = n % 4 == 3 ? .noStream : .any
                    let stream = n % 4 == 3 ? "shared-1" : "own-\(n)"
                    return (try? await store.append([StoreContract.event()], to: StreamName(stream), expecting: expected)) != nil
                }
            }
            var all: [Bool] = []
            for await outcome in group { all.append(outcome) }
            return all
        }
        // 48 own streams and one of the 16 new-stream appenders to the shared stream.
        #expect(outcomes.count { $0 } == 49)
        #expect(try await store.headPosition() == 49)
        #expect(store.appendCommits < appends / 2, "\(store.appendCommits) commits for \(appends) appends")
    }

    /// A disk that fills in the middle of a shared transaction (a batch larger than the page cache
    /// spills to the file before its commit) fails that append as `unavailable` — a 503 at the edge, to
    /// retry — not as a raw database error, and writes nothing of it.
    @Test(.enabled(if: SmallDisk.canMount, "mounting a tmpfs needs root"))
    func aDiskThatFillsMidAppendIsUnavailableAndWritesNothing() async throws {
        let directory = try TemporaryDirectory()
        let disk = try SmallDisk(at: directory.url.path, size: "3m")
        defer { disk.unmount() }
        let store = try SQLiteEventStore(path: directory.path("full.sqlite"))
        _ = try await store.append([StoreContract.event()], to: StreamName("small-1"), expecting: .any)
        let big = String(repeating: "x", count: 1 << 20)
        let events = (0..<6).map { _ in NewEvent(id: UUID(), type: "Big", data: Data("{\"x\":\"\(big)\"}".utf8)) }
        do {
            _ = try await store.append(events, to: StreamName("big-1"), expecting: .any)
            Issue.record("6 MiB appended to a 3 MiB disk")
        } catch let error as EventStoreError {
            #expect(error.isTransient, "\(error)")
        } catch {
            Issue.record("not an EventStoreError: \(error)")
        }
        #expect(try await store.headPosition() == 1)
    }

    /// Two pools on one file behave like two processes: the write lock of BEGIN IMMEDIATE, not an
    /// in-process queue, must keep positions gap-free and in commit order.
    @Test func twoConnectionsOnOneFileKeepTheLogGapFree() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("events.sqlite")
        let first = try SQLiteEventStore(path: path)
        let second = try SQLiteEventStore(path: path)
        let perWriter = 60
        let shared = try StreamName("thing-shared")
        let total = 2 * perWriter * 4
        let seen = try await tailLog(of: first, expecting: total, batchSize: 5, pollInterval: .milliseconds(10)) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (n, store) in [first, second].enumerated() {
                    group.addTask {
                        for i in 0..<perWriter {
                            _ = try await store.append([StoreContract.event("Shared", i), StoreContract.event("Shared", i)], to: shared, expecting: .any)
                            _ = try await store.append([StoreContract.event("Own", i)], to: try StreamName("thing-w\(n)"), expecting: .exactly(Int64(i)))
                            _ = try await store.append([StoreContract.event("Own", i)], to: try StreamName("thing-x\(n)"), expecting: .any)
                        }
                    }
                }
                try await group.waitForAll()
            }
        }.map(\.position)
        #expect(seen == (1...Int64(total)).map { GlobalPosition(rawValue: $0) })
        #expect(try await second.headPosition() == GlobalPosition(rawValue: Int64(total)))
        let versions = try await first.read(shared, from: 1, direction: .forwards, limit: 1000).map(\.version)
        #expect(versions == Array(1...Int64(4 * perWriter)))
    }

    /// 100,000 events appended and read back in pages: the log is read without holding it in memory.
    @Test func appendsAndReadsAHundredThousandEvents() async throws {
        let directory = try TemporaryDirectory()
        var configuration = SQLiteDatabase.Configuration()
        configuration.synchronous = .normal
        let store = SQLiteEventStore(database: try SQLiteDatabase(path: directory.path("big.sqlite"), configuration: configuration))
        let batches = 100
        let batchSize = 1_000
        for b in 0..<batches {
            let stream = try StreamName(category: "bulk", id: String(b % 10))
            let events = (0..<batchSize).map { StoreContract.event("Bulk", $0) }
            _ = try await store.append(events, to: stream, expecting: .any)
        }
        var expected: Int64 = 1
        var last = GlobalPosition.start
        while true {
            let page = try await store.readAll(after: last, limit: 2_000)
            guard let tail = page.last else { break }
            for event in page {
                #expect(event.position.rawValue == expected)
                expected += 1
            }
            last = tail.position
        }
        #expect(expected - 1 == Int64(batches * batchSize))
        #expect(try await store.version(of: StreamName("bulk-3")) == Int64(batches / 10 * batchSize))
    }
}

@Suite struct SQLiteProjectionTests {
    typealias TypeCounts = CountingReadModel

    func counts(_ database: SQLiteDatabase) async throws -> [String: Int] {
        try await database.read { db in
            Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT type, count FROM type_counts").map { ($0[0] as String, $0[1] as Int) })
        }
    }

    @Test func rowsAndCheckpointCommitTogether() async throws {
        let directory = try TemporaryDirectory()
        let database = try SQLiteDatabase(path: directory.path("p.sqlite"))
        let store = SQLiteEventStore(database: database)
        let stream = try StreamName("thing-1")
        _ = try await store.append(
            [StoreContract.event("A"), StoreContract.event("B"), StoreContract.event("Poison"), StoreContract.event("A")], to: stream, expecting: .any)
        let events = try await store.readAll(after: .start, limit: 10)

        let failing = try await SQLiteProjection(TypeCounts(failOn: "Poison"), database: database).prepared()
        await #expect(throws: CodecError.self) { try await failing.consume(events) }
        // The batch failed at its third event: neither the first two rows nor the checkpoint were kept.
        #expect(try await counts(database).isEmpty)
        #expect(try await failing.checkpoint() == .start)

        let healthy = try await SQLiteProjection(TypeCounts(failOn: nil), database: database).prepared()
        try await healthy.consume(Array(events[0..<2]))
        #expect(try await healthy.checkpoint() == 2)
        // A batch handed over again (e.g. after a crash before the runner saw the commit) is not applied twice.
        try await healthy.consume(events)
        #expect(try await counts(database) == ["A": 2, "B": 1, "Poison": 1])
        #expect(try await healthy.checkpoint() == 4)

        try await healthy.reset()
        #expect(try await counts(database).isEmpty)
        #expect(try await healthy.checkpoint() == .start)
    }

    /// Invariant 4, pinned: the checkpoint write itself fails (a trigger refuses it), so a projection
    /// that wrote its rows in a transaction of their own would keep them.
    @Test func aFailingCheckpointWriteKeepsNoRows() async throws {
        let directory = try TemporaryDirectory()
        let database = try SQLiteDatabase(path: directory.path("p.sqlite"))
        let store = SQLiteEventStore(database: database)
        _ = try await store.append([StoreContract.event("A"), StoreContract.event("B")], to: StreamName("thing-1"), expecting: .any)
        let events = try await store.readAll(after: .start, limit: 10)
        let projection = try await SQLiteProjection(TypeCounts(failOn: nil), database: database).prepared()
        try await database.write { db in
            for operation in ["INSERT", "UPDATE"] {
                try db.execute(
                    sql: """
                        CREATE TRIGGER refuse_checkpoint_\(operation) BEFORE \(operation) ON checkpoints
                        WHEN NEW.name = 'type_counts' BEGIN SELECT RAISE(ABORT, 'checkpoint refused'); END
                        """)
            }
        }
        await #expect(throws: (any Error).self) { try await projection.consume(events) }
        #expect(try await counts(database).isEmpty)
        #expect(try await projection.checkpoint() == .start)
    }

    @Test func resettingOneProjectionLeavesEveryOtherCheckpoint() async throws {
        let directory = try TemporaryDirectory()
        let database = try SQLiteDatabase(path: directory.path("p.sqlite"))
        try await SQLProjectionContract.resettingOneLeavesEveryOtherCheckpoint(
            store: SQLiteEventStore(database: database), checkpoints: SQLiteCheckpointStore(database: database),
            projection: { try await SQLiteProjection($0, database: database).prepared() }, rows: { try await database.rows($0) })
    }

    @Test func aReplicaIsSwappedInOnlyOnceCaughtUp() async throws {
        let directory = try TemporaryDirectory()
        let database = try SQLiteDatabase(path: directory.path("p.sqlite"))
        try await SQLProjectionContract.aReplicaIsSwappedInOnlyOnceCaughtUp(
            store: SQLiteEventStore(database: database), checkpoints: SQLiteCheckpointStore(database: database),
            projection: { try await SQLiteProjection($0, database: database).prepared() },
            replica: { try SQLiteReplica(rebuilding: $0, in: database, path: directory.path("replica.sqlite")) },
            rows: { try await database.rows($0) })
        #expect(!FileManager.default.fileExists(atPath: directory.path("replica.sqlite")), "a discarded replica leaves no file")
        // A replica built to be read replaces nothing.
        let pointInTime = try SQLiteReplica(models: [CountingReadModel(name: "counts_live")], path: directory.path("then.sqlite"))
        await #expect(throws: ReplicaError.self) { try await pointInTime.promote() }
        await pointInTime.discard()
    }

    @Test func readModelValuesRoundTripExactly() async throws {
        let directory = try TemporaryDirectory()
        let database = try SQLiteDatabase(path: directory.path("values.sqlite"))
        try await SQLValueContract.valuesRoundTripExactly(
            store: SQLiteEventStore(database: database), projection: { try await SQLiteProjection($0, database: database).prepared() },
            rows: { try await database.rows($0) })
    }

    @Test func aRunnerStopsAtAPoisonEventWithItsPositionAndResumesAfterAFix() async throws {
        let directory = try TemporaryDirectory()
        let database = try SQLiteDatabase(path: directory.path("p.sqlite"))
        let store = SQLiteEventStore(database: database)
        _ = try await store.append([StoreContract.event("A"), StoreContract.event("Poison"), StoreContract.event("B")], to: StreamName("thing-1"), expecting: .any)
        let runner = SubscriptionRunner(try await SQLiteProjection(TypeCounts(failOn: "Poison"), database: database).prepared(), kind: .projection, store: store)
        let task = Task { await runner.run() }
        defer { task.cancel() }
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        var state = runner.currentStatus.state
        while ContinuousClock.now < deadline, state == .running || state == .starting {
            try await Task.sleep(for: .milliseconds(10))
            state = runner.currentStatus.state
        }
        #expect(state == .faulted(position: 2, error: "unknown event type \"Poison\""))
        #expect(try await counts(database) == ["A": 1])
        #expect(try await SQLiteCheckpointStore(database: database).checkpoint(for: "type_counts") == 1)
    }
}
