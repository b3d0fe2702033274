import Chronicle
import ChroniclePostgres
import ChronicleTesting
import Foundation
import Testing

@Suite(.enabled(if: ScaleOut.isAvailable, "set DATABASE_URL (scripts/test starts a throwaway PostgreSQL)"))
struct MultiProcessAppendTests {
    /// Three OS processes append to streams of their own and race for the versions of one shared stream,
    /// while this process tails the log.
    @Test func processesRacingForOneStreamLoseNothingAndTheReaderSeesNoHole() async throws {
        let url = try ScaleOut.requireURL()
        try await PostgresDatabase.withTemporarySchema(url: url) { database, schema in
            let directory = try TemporaryDirectory()
            let store = PostgresEventStore(database: database)
            let writers = 3
            let count = 60
            let total = writers * count * 2
            let processes = try (0..<writers).map { n in
                try ChronicleProcess(
                    ["append-load", "--postgres", "\(url)?search_path=\(schema)", "--writer", "w\(n)", "--count", "\(count)"],
                    directory: directory, name: "writer\(n)")
            }
            let seen = try await tailLog(of: store, expecting: total, batchSize: 13) {
                for process in processes { _ = await process.waitForExit() }
            }
            var wins = 0
            var conflicts = 0
            for process in processes {
                #expect(await process.waitForExit() == 0, "\(process.log)")
                struct Outcome: Decodable { let wins: Int; let conflicts: Int }
                let last = process.log.split(separator: "\n").last.map(String.init) ?? ""
                let outcome = try JSONDecoder().decode(Outcome.self, from: Data(last.utf8))
                wins += outcome.wins
                conflicts += outcome.conflicts
            }
            // The reader saw every position once, in order, with no hole.
            #expect(seen.map(\.position.rawValue) == Array(1...Int64(total)))
            #expect(Set(seen.map(\.id)).count == total)
            // One winner per expected version of the shared stream: versions 1…N, each won once.
            let shared = try await store.read(StreamName("load-shared"), from: 1, direction: .forwards, limit: 10_000)
            #expect(shared.map(\.version) == Array(1...Int64(writers * count)))
            #expect(wins == writers * count)
            #expect(conflicts > 0, "the writers never raced; the test proves nothing")
            for n in 0..<writers {
                #expect(try await store.version(of: StreamName("load-w\(n)")) == Int64(count))
            }
        }
    }
}
