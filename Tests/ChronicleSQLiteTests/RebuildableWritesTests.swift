import Chronicle
import ChronicleSQLite
import ChronicleTesting
import Foundation
import GRDB
import Synchronization
import Testing

/// Read models' and checkpoints' writes (rebuildable) handed in together share one transaction, each in
/// a savepoint: one failing write never takes its neighbours down.
@Suite struct RebuildableWritesTests {
    /// Counts the transactions that commit rows into `marks`, whoever writes them.
    final class CommitCounter: TransactionObserver, Sendable {
        let commits = Atomic<Int>(0)
        func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { eventKind.tableName == "marks" }
        func databaseDidChange(with event: DatabaseEvent) {}
        func databaseDidCommit(_ db: Database) { commits.add(1, ordering: .relaxed) }
        func databaseDidRollback(_ db: Database) {}
    }

    struct Refused: Error, Equatable {}

    final class Tally: Sendable {
        let count = Atomic<Int>(0)
    }

    private static func outcome(_ body: () async throws -> Void) async -> Result<Void, any Error> {
        do {
            try await body()
            return .success(())
        } catch {
            return .failure(error)
        }
    }

    /// A database with a `marks` table and a commit counter on its writer.
    private func database(in directory: TemporaryDirectory) async throws -> (SQLiteDatabase, CommitCounter) {
        let database = try SQLiteDatabase(path: directory.path("marks.sqlite"))
        let counter = CommitCounter()
        try await database.pool.write { db in
            try db.execute(sql: "CREATE TABLE marks (n INTEGER PRIMARY KEY)")
            db.add(transactionObserver: counter, extent: .databaseLifetime)
        }
        return (database, counter)
    }

    /// Runs `writes` rebuildable writes at once, the first holding its transaction open until every other
    /// one has been handed in; answers each one's outcome.
    private func writeAtOnce(
        _ database: SQLiteDatabase, _ writes: Int, body: @escaping @Sendable (Int, Database) throws -> Void
    ) async -> [Int: Result<Void, any Error>] {
        let handedIn = Tally()
        return await withTaskGroup(of: (Int, Result<Void, any Error>).self) { group in
            group.addTask {
                let outcome = await Self.outcome {
                    try await database.write(.rebuildable) { db in
                        try db.execute(sql: "INSERT INTO marks (n) VALUES (1000)")
                        // Hold the writer (with a deadline) while the others queue behind it.
                        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
                        while handedIn.count.load(ordering: .acquiring) < writes, ContinuousClock.now < deadline { usleep(1000) }
                        usleep(20_000)
                    }
                }
                return (-1, outcome)
            }
            for n in 0..<writes {
                group.addTask {
                    handedIn.count.add(1, ordering: .releasing)
                    return (n, await Self.outcome { try await database.write(.rebuildable) { db in try body(n, db) } })
                }
            }
            var outcomes: [Int: Result<Void, any Error>] = [:]
            for await (n, outcome) in group { outcomes[n] = outcome }
            return outcomes
        }
    }

    @Test func writesHandedInTogetherShareOneTransaction() async throws {
        let directory = try TemporaryDirectory()
        let (database, counter) = try await database(in: directory)
        let outcomes = await writeAtOnce(database, 20) { n, db in
            try db.execute(sql: "INSERT INTO marks (n) VALUES (?)", arguments: [n])
        }
        #expect(outcomes.values.allSatisfy { (try? $0.get()) != nil })
        #expect(try await database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM marks") } == 21)
        // The first alone, then the 20 queued behind it together (a straggler may make one more).
        #expect(counter.commits.load(ordering: .relaxed) <= 3)
        #expect(database.rebuildableCommits.writes == 21)
    }

    @Test func aFailingWriteFailsAloneAndItsNeighboursCommit() async throws {
        let directory = try TemporaryDirectory()
        let (database, counter) = try await database(in: directory)
        let outcomes = await writeAtOnce(database, 6) { n, db in
            try db.execute(sql: "INSERT INTO marks (n) VALUES (?)", arguments: [n])
            switch n {
            case 2: throw Refused()  // its own row must not stay
            case 4: try db.execute(sql: "INSERT INTO marks (n) VALUES (1000)")  // a constraint: the row of the first write
            default: break
            }
        }
        #expect(throws: Refused.self) { try outcomes[2]?.get() }
        #expect(throws: EventStoreError.self) { try outcomes[4]?.get() }
        for n in [-1, 0, 1, 3, 5] { #expect((try? outcomes[n]?.get()) != nil, "write \(n)") }
        let rows = try await database.read { db in try Int.fetchAll(db, sql: "SELECT n FROM marks ORDER BY n") }
        #expect(rows == [0, 1, 3, 5, 1000])
        #expect(counter.commits.load(ordering: .relaxed) <= 3)
    }
}
