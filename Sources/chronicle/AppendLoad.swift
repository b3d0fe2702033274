import ArgumentParser
import Chronicle
import ChroniclePostgres
import Foundation

/// A load generator for the multi-process tests: appends to a stream of its own and races the other
/// processes for the versions of a shared stream. Prints `{"wins": n, "conflicts": n}`.
struct AppendLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append-load", abstract: "Append test load to PostgreSQL (for the multi-process tests).",
        shouldDisplay: false)

    @Option(help: "PostgreSQL URL (default: DATABASE_URL).") var postgres: String?
    @Option(help: "This writer's name (its own stream is load-<name>).") var writer: String
    @Option(help: "The shared stream all writers race on.") var shared = "load-shared"
    @Option(help: "How many events to win on the shared stream, and to append to the own stream.") var count = 50

    func run() async throws {
        guard let url = postgres ?? ProcessInfo.processInfo.environment["DATABASE_URL"] else {
            throw ValidationError("pass --postgres URL or set DATABASE_URL")
        }
        let database = try PostgresDatabase(url: url)
        let store = PostgresEventStore(database: database)
        let own = try StreamName(category: "load", id: writer)
        let sharedStream = try StreamName(shared)
        var (wins, conflicts) = (0, 0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.run() }
            defer { group.cancelAll() }
            for n in 0..<count {
                let body = Data("{\"writer\":\"\(writer)\",\"n\":\(n)}".utf8)
                _ = try await store.append([NewEvent(id: UUID(), type: "LoadOwn", data: body)], to: own, expecting: .exactly(Int64(n)))
                while true {
                    let version = try await store.version(of: sharedStream)
                    do {
                        _ = try await store.append(
                            [NewEvent(id: UUID(), type: "LoadShared", data: body)], to: sharedStream, expecting: .exactly(version))
                        wins += 1
                        break
                    } catch EventStoreError.wrongExpectedVersion {
                        conflicts += 1
                    }
                }
            }
        }
        print("{\"wins\": \(wins), \"conflicts\": \(conflicts)}")
    }
}
