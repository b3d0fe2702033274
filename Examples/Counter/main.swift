// The library example: Chronicle in a package of your own (`swift run counter-example`).
// A decider, its events stored by the Codable codec, commands through a CommandHandler, one SQL read
// model on a SQLite file kept up to date by a SubscriptionRunner — and a wait for it to catch up.
import Chronicle
import ChronicleSQLite
import Foundation

// MARK: counter-decider
/// A counter that never passes 10: commands are decided on its state, events are what happened.
enum Counter: Decider {
    struct State: Sendable { var value = 0 }
    enum Command: Sendable { case increment(by: Int), reset }
    enum Rejection: Error, Equatable { case wouldPassTheCeiling }

    /// Stored as JSON by `JSONEventCodec`, under type names given here: explicit and stable.
    enum Event: CodableEvent, Equatable {
        case incremented(by: Int)
        case wasReset

        enum CodingKeys: String, CodingKey, CaseIterable {
            case incremented = "CounterIncremented", wasReset = "CounterReset"
        }
    }

    static let initialState = State()

    static func decide(_ command: Command, _ state: State) throws(Rejection) -> [Event] {
        switch command {
        case .increment(let by):
            guard state.value + by <= 10 else { throw .wouldPassTheCeiling }
            return [.incremented(by: by)]
        case .reset:
            return state.value == 0 ? [] : [.wasReset]
        }
    }

    static func evolve(_ state: State, _ event: Event) -> State {
        switch event {
        case .incremented(let by): State(value: state.value + by)
        case .wasReset: State()
        }
    }
}
// MARK: end

// MARK: counter-read-model
/// A read model in SQL (the same statements run on SQLite and PostgreSQL): each counter's total.
struct CounterTotals: SQLReadModel {
    let name = "counter_totals"
    let tables = [SQLTable("counter_totals", "counter TEXT PRIMARY KEY, total BIGINT NOT NULL")]

    func statements(for event: RecordedEvent) throws -> [SQLStatement] {
        guard event.stream.category == "counter" else { return [] }
        let counter = SQLValue.text(event.stream.id)
        switch try JSONEventCodec<Counter.Event>().decode(event) {
        case .incremented(let by):
            return [
                SQLStatement(
                    "INSERT INTO counter_totals VALUES (?, ?) ON CONFLICT (counter) DO UPDATE SET total = counter_totals.total + excluded.total",
                    [counter, .integer(Int64(by))])
            ]
        case .wasReset:
            return [SQLStatement("UPDATE counter_totals SET total = 0 WHERE counter = ?", [counter])]
        }
    }
}
// MARK: end

// MARK: counter-main
@main
struct CounterExample {
    static func main() async {
        do {
            try await run()
        } catch {
            // An error is said in one line on standard error, and the process fails: no crash dump.
            FileHandle.standardError.write(Data("counter-example: \(error)\n".utf8))
            exit(1)
        }
    }

    static func run() async throws {
        // One SQLite file holds the events, the read model and its checkpoint.
        let path = CommandLine.arguments.dropFirst().first ?? "counter-example.sqlite"
        let database = try SQLiteDatabase(path: path)
        let store = SQLiteEventStore(database: database)
        let commands = CommandHandler<Counter, JSONEventCodec<Counter.Event>>(store: store, codec: JSONEventCodec())

        // The read model follows the log from its own checkpoint, in a task of its own.
        let totals = try await SQLiteProjection(CounterTotals(), database: database).prepared()
        let runner = SubscriptionRunner(totals, kind: .projection, store: store)
        let following = Task { await runner.run() }
        defer { following.cancel() }

        let kitchen = try StreamName(category: "counter", id: "kitchen")
        var last = GlobalPosition.start
        for command in [Counter.Command.increment(by: 3), .increment(by: 4), .increment(by: 5)] {
            switch try await commands.handle(command, on: kitchen) {
            case .accepted(let events, _, let position):
                print("accepted \(command): \(events.map { "\($0)" }.joined(separator: ", "))")
                last = position ?? last
            case .rejected(let rejection):
                print("rejected \(command): \(rejection)")
            }
        }

        // Wait (bounded) until the read model has taken in the last event, then query it.
        guard await runner.waitUntilCaughtUp(to: last, timeout: .seconds(10)) else {
            print("the read model did not catch up")
            throw ExitCode.failure
        }
        for row in try await database.rows(SQLStatement("SELECT counter, total FROM counter_totals ORDER BY counter")) {
            print("read model: \(row["counter"]?.text ?? "?") = \(row["total"]?.integer ?? 0)")
        }
    }
}
// MARK: end

/// The process's exit status on failure.
enum ExitCode: Error { case failure }
