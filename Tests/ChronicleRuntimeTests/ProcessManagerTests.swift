import Chronicle
import ChronicleRuntime
import ChronicleSQLite
import ChronicleTesting
import Foundation
import Testing

/// Chores with reminders: a chore not finished within a minute gets a reminder — a deadline that a
/// finished chore cancels. The decider records a reminder each time it is asked, so only the process
/// manager's command ids and outbox keep a reminder from being sent twice.
enum Chore: Decider {
    enum State: Sendable, Equatable { case none, open, finished }
    enum Command: Sendable { case create, finish, remind }
    enum Event: Sendable, Equatable { case created, finished, reminded }
    enum Rejection: Error { case exists, unknown }

    static let initialState = State.none

    static func decide(_ command: Command, _ state: State) throws(Rejection) -> [Event] {
        switch (command, state) {
        case (.create, .none): [.created]
        case (.create, _): throw .exists
        case (_, .none): throw .unknown
        case (.finish, .open): [.finished]
        case (.finish, .finished): []
        // A reminder is recorded even for a finished chore, so that one sent in error shows.
        case (.remind, _): [.reminded]
        }
    }

    static func evolve(_ state: State, _ event: Event) -> State {
        switch event {
        case .created, .reminded: state == .none ? .open : state
        case .finished: .finished
        }
    }

    struct Codec: EventCodec {
        static let names: [Event: String] = [.created: "ChoreCreated", .finished: "ChoreFinished", .reminded: "ChoreReminded"]
        func encode(_ event: Event) throws -> EncodedEvent {
            EncodedEvent(type: Self.names[event] ?? "", schemaVersion: 1, data: Data("{}".utf8))
        }
        func decode(_ encoded: EncodedEvent) throws -> Event {
            guard let event = Self.names.first(where: { $0.value == encoded.type })?.key else { throw CodecError.unknownType(encoded.type) }
            return event
        }
    }
}

/// The command the reminders send.
struct RemindChore: NamedCommand, Encodable {
    static let typeName = "RemindChore"
    let choreId: String
    enum CodingKeys: String, CodingKey { case choreId = "chore_id" }
}

struct CreateChore: NamedCommand {
    static let typeName = "CreateChore"
    let choreId: String
    enum CodingKeys: String, CodingKey { case choreId = "chore_id" }
}

struct FinishChore: NamedCommand {
    static let typeName = "FinishChore"
    let choreId: String
    enum CodingKeys: String, CodingKey { case choreId = "chore_id" }
}

/// A reminder a minute after a chore is created, cancelled when it is finished.
struct Reminders: ProcessManager {
    struct State: Codable, Sendable, Equatable {
        var done = false
    }
    enum Event: Sendable { case chore(id: String, Chore.Event) }

    let name = "chore_reminders"
    let initialState = State()
    var sends: [any NamedCommand.Type] { [RemindChore.self] }

    func decode(_ recorded: RecordedEvent) throws -> Event? {
        recorded.stream.category == "chore" ? .chore(id: recorded.stream.id, try Chore.Codec().decode(recorded)) : nil
    }

    func correlate(_ event: Event) -> String? {
        guard case .chore(let id, _) = event else { return nil }
        return id
    }

    func evolve(_ state: State, _ event: Event) -> State {
        guard case .chore(_, let chore) = event else { return state }
        return chore == .created ? state : State(done: true)
    }

    func react(to event: Event, in state: State) -> [ProcessAction] {
        guard case .chore(let id, let chore) = event else { return [] }
        switch chore {
        case .created: return [.schedule(ProcessCommand(RemindChore(choreId: id)), after: .seconds(60), key: "remind")]
        case .finished: return [.cancel(key: "remind")]
        case .reminded: return []
        }
    }

    func isFinished(_ state: State) -> Bool { state.done }
}

struct Chores: ApplicationModule {
    let name = "chores"
    var processManagers: [any ProcessManager] { [Reminders()] }

    func registerCommands(on bus: CommandBus, runtime: ChronicleRuntime) throws {
        let handler = CommandHandler<Chore, Chore.Codec>(store: runtime.store, codec: Chore.Codec())
        @Sendable func stream(_ id: String) throws(CommandBusError) -> StreamName {
            guard let stream = try? StreamName(category: "chore", id: id) else { throw .malformed(type: "chore", reason: "chore_id is not an id") }
            return stream
        }
        try bus.register(CreateChore.self, handler: handler) { command throws(CommandBusError) in (.create, try stream(command.choreId)) }
        try bus.register(FinishChore.self, handler: handler) { command throws(CommandBusError) in (.finish, try stream(command.choreId)) }
        try bus.register(RemindChore.self, exposed: false, handler: handler) { command throws(CommandBusError) in (.remind, try stream(command.choreId)) }
    }
}

/// The reminders without the module that handles their command.
struct ForgetfulChores: ApplicationModule {
    let name = "forgetful_chores"
    var processManagers: [any ProcessManager] { [Reminders()] }
}

@Suite struct ProcessManagerTests {
    /// A process manager whose command no module handles is refused when the runtime is made — not the
    /// first time a process sends it, faulting its subscription.
    @Test func aProcessManagerSendingACommandNoModuleHandlesIsRefusedAtStart() throws {
        let directory = try TemporaryDirectory()
        #expect(throws: ChronicleRuntime.ConfigurationError.self) {
            _ = try ChronicleRuntime(configuration: .init(sqlitePath: directory.path("forgetful.sqlite")), modules: [ForgetfulChores()])
        }
        do {
            _ = try ChronicleRuntime(configuration: .init(sqlitePath: directory.path("forgetful.sqlite")), modules: [ForgetfulChores()])
        } catch {
            #expect("\(error)" == #"the process manager "chore_reminders" sends RemindChore, which no module handles"#)
        }
        _ = try ChronicleRuntime(configuration: .init(sqlitePath: directory.path("chores.sqlite")), modules: [Chores()])
    }

    static func runtime(_ directory: TemporaryDirectory, clock: ManualProcessClock, subscribing: Bool = true) throws -> ChronicleRuntime {
        try runtime(.sqlite(path: directory.path("chores.sqlite")), clock: clock, subscribing: subscribing)
    }

    static func runtime(_ backend: ChronicleRuntime.Backend, clock: ManualProcessClock, subscribing: Bool = true) throws -> ChronicleRuntime {
        var configuration = ChronicleRuntime.Configuration(backend: backend)
        configuration.subscriptions.pollInterval = .milliseconds(20)
        configuration.clock = clock
        configuration.runsSubscriptions = subscribing
        return try ChronicleRuntime(configuration: configuration, modules: [Chores()])
    }

    static func send(_ runtime: ChronicleRuntime, _ type: String, _ id: String) async throws -> CommandAnswer {
        try await runtime.bus.send(CommandEnvelope(type: type, body: Data(#"{"chore_id": "\#(id)"}"#.utf8)))
    }

    static func reminders(of id: String, in runtime: ChronicleRuntime) async throws -> Int {
        try await runtime.store.read(StreamName(category: "chore", id: id), from: 1, direction: .forwards, limit: 100)
            .filter { $0.type == "ChoreReminded" }.count
    }

    static func processes(_ runtime: ChronicleRuntime) throws -> any ProcessInspecting {
        try #require(runtime.subscription(named: "chore_reminders")?.processes)
    }

    /// Runs `runtime` while `body` runs, then stops it and waits for it to end.
    static func running(_ runtime: ChronicleRuntime, _ body: () async throws -> Void) async throws {
        try await runtime.prepare()
        let task = Task { try await runtime.run() }
        do {
            try await body()
        } catch {
            task.cancel()
            _ = try? await task.value
            throw error
        }
        task.cancel()
        _ = try? await task.value
    }

    @Test func aDeadlineScheduledBeforeARestartFiresAfterItExactlyOnce() async throws {
        let directory = try TemporaryDirectory()
        try await Self.deadlineSurvivesRestarts(on: .sqlite(path: directory.path("chores.sqlite")))
    }

    /// Schedules a reminder, stops the runtime, moves the clock past the deadline, starts a new runtime on
    /// the same database: the reminder fires once; a third runtime never sends it again.
    static func deadlineSurvivesRestarts(on backend: ChronicleRuntime.Backend, timeout: Duration = .seconds(10)) async throws {
        let clock = ManualProcessClock()
        let first = try Self.runtime(backend, clock: clock)
        try await Self.running(first) {
            _ = try await Self.send(first, "CreateChore", "c1")
            try await eventually(timeout: timeout, "the reminder is scheduled") {
                try await Self.processes(first).openInstances(limit: 10).first?.pending.map(\.deadline) == ["remind"]
            }
            #expect(first.runner(named: "chore_reminders")?.currentStatus.kind == .processManager)
        }
        #expect(try await Self.reminders(of: "c1", in: first) == 0)

        clock.advance(by: .seconds(61))
        let second = try Self.runtime(backend, clock: clock)
        try await Self.running(second) {
            try await eventually(timeout: timeout, "the reminder fires after the restart") { try await Self.reminders(of: "c1", in: second) == 1 }
            try await eventually(timeout: timeout, "the process is over") { try await Self.processes(second).openCount() == 0 }
        }

        // Restarted again, a minute later: a new chore's reminder fires, and c1's never again.
        clock.advance(by: .seconds(61))
        let third = try Self.runtime(backend, clock: clock)
        try await Self.running(third) {
            _ = try await Self.send(third, "CreateChore", "c2")
            try await eventually(timeout: timeout, "c2 is scheduled") { try await Self.processes(third).openInstances(limit: 10).first?.id == "c2" }
            clock.advance(by: .seconds(61))
            try await eventually(timeout: timeout, "c2's reminder fires") { try await Self.reminders(of: "c2", in: third) == 1 }
        }
        #expect(try await Self.reminders(of: "c1", in: third) == 1)
    }

    @Test func aLaterEventCancelsADeadline() async throws {
        let directory = try TemporaryDirectory()
        let clock = ManualProcessClock()
        let runtime = try Self.runtime(directory, clock: clock)
        try await Self.running(runtime) {
            _ = try await Self.send(runtime, "CreateChore", "done-early")
            _ = try await Self.send(runtime, "FinishChore", "done-early")
            _ = try await Self.send(runtime, "CreateChore", "late")
            try await eventually("late is scheduled, done-early is not") {
                try await Self.processes(runtime).openInstances(limit: 10).map(\.id) == ["late"]
            }
            clock.advance(by: .seconds(61))
            try await eventually("late's reminder fires") { try await Self.reminders(of: "late", in: runtime) == 1 }
        }
        // Commands are sent in the order they were asked for: done-early's would have gone first.
        #expect(try await Self.reminders(of: "done-early", in: runtime) == 0)
    }

    /// A crash after a command was sent and before its outbox row was deleted (or before the checkpoint
    /// was stored) makes the process manager take the event in again and send the command again — with
    /// the same id, so it applies once.
    @Test func aCommandSentAgainAfterACrashAppliesOnce() async throws {
        let directory = try TemporaryDirectory()
        let clock = ManualProcessClock()
        let runtime = try Self.runtime(directory, clock: clock, subscribing: false)
        try await runtime.prepare()
        let database = try SQLiteDatabase(path: directory.path("chores.sqlite"))
        let consumer = ProcessManagerConsumer(Reminders(), storage: SQLiteSubscriptionStorage(database: database), bus: runtime.bus, clock: clock)
        _ = try await Self.send(runtime, "CreateChore", "c1")
        let created = try await runtime.store.readAll(after: .start, limit: 10)
        for _ in 0..<2 {
            try await consumer.consume(created)
            clock.advance(by: .seconds(61))
            try await consumer.sendDueCommands()
            // Everything the process manager wrote is lost, as if it crashed before committing any of it.
            try await database.write { db in
                try db.execute(sql: "DELETE FROM chronicle_process_instances")
                try db.execute(sql: "DELETE FROM chronicle_process_outbox")
                try db.execute(sql: "DELETE FROM checkpoints")
            }
        }
        #expect(try await Self.reminders(of: "c1", in: runtime) == 1)
    }
}

extension PostgresRuntimeTests {
    /// The same on PostgreSQL, where each runtime must first come to own the process manager.
    @Test func onPostgreSQLADeadlineScheduledBeforeARestartFiresAfterItExactlyOnce() async throws {
        try await Self.withDatabase { database in
            try await ProcessManagerTests.deadlineSurvivesRestarts(on: .postgres(database), timeout: .seconds(60))
        }
    }
}
