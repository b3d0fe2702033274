import Chronicle
import ChronicleRuntime
import ChronicleSQLite
import ChronicleTesting
import Foundation
import TodoApp
import TodoDomain
import Testing

/// The notifier mails once across a restart, a crash at either side of the effect, and a projection rebuild.
@Suite struct NotifierTests {
    let id = TodoID(UUID())

    struct SimulatedCrash: Error {}

    /// Delivers, then "crashes" (every time: this process never gets further): the mail is out, nothing
    /// is recorded and the checkpoint is not written.
    final class CrashAfterDelivery: MailSink {
        let inner: any MailSink
        init(_ inner: any MailSink) { self.inner = inner }
        func deliver(_ mail: Mail) async throws -> String {
            _ = try await inner.deliver(mail)
            throw SimulatedCrash()
        }
    }

    /// Lets the reactor record the notification, then "crashes" before the checkpoint of `position` is
    /// written (every time: this process never gets further).
    final class CrashBeforeCheckpoint: CheckpointStore {
        let inner: any CheckpointStore
        let position: GlobalPosition
        init(_ inner: any CheckpointStore, at position: GlobalPosition) {
            self.inner = inner
            self.position = position
        }
        func checkpoint(for subscriber: String) async throws -> GlobalPosition { try await inner.checkpoint(for: subscriber) }
        func store(_ position: GlobalPosition, for subscriber: String) async throws {
            if position == self.position { throw SimulatedCrash() }
            try await inner.store(position, for: subscriber)
        }
        func reset(_ subscriber: String) async throws { try await inner.reset(subscriber) }
    }

    /// The Todo module in a runtime of its own on `directory`'s SQLite file, seen by role.
    struct Service {
        let runtime: ChronicleRuntime
        let module: TodoModule

        var store: any EventStore { runtime.store }
        var checkpoints: any CheckpointStore { runtime.checkpoints }
        var mailSink: any MailSink { module.mailSink }
        var commands: CommandHandler<Todo, TodoEventCodec> { module.commands(runtime) }
        var notifier: SubscriptionRunner { runtime.runner(named: "todo_completed_notifier")! }
        var readModels: [SubscriptionRunner] { TodoReadModel.List.allCases.compactMap { runtime.runner(named: $0.name) } }
        func todos(_ list: TodoReadModel.List) async throws -> [TodoItem] { try await TodoModule.todos(list, in: runtime) }
        func run() async { try? await runtime.run() }
    }

    func service(_ directory: TemporaryDirectory, sink: (any MailSink)? = nil) async throws -> Service {
        var configuration = ChronicleRuntime.Configuration(sqlitePath: directory.path("todo.sqlite"))
        configuration.subscriptions.pollInterval = .milliseconds(20)
        let module = TodoModule(mailSink: try sink ?? FileMailbox(path: directory.path("todo.mailbox"), today: { "2026-11-22" }))
        let runtime = try ChronicleRuntime(configuration: configuration, modules: [module])
        try await runtime.prepare()
        return Service(runtime: runtime, module: module)
    }

    func mailbox(_ directory: TemporaryDirectory) throws -> [FileMailbox.Delivered] {
        try FileMailbox.read(path: directory.path("todo.mailbox"))
    }

    func notifications(_ service: Service) async throws -> [RecordedEvent] {
        try await service.store.read(Todo.stream(id), from: 1, direction: .forwards, limit: 100)
            .filter { $0.type == "StakeholderNotifiedOfTodoCompletion" }
    }

    /// Adds and completes a todo with a stakeholder; answers the completion's position.
    func addAndComplete(_ service: Service) async throws -> GlobalPosition {
        _ = try await service.commands.handle(.add(id, .init(title: "Ship it", stakeholderEmail: "ada@example.com")), on: Todo.stream(id))
        guard case .accepted(_, _, let position?) = try await service.commands.handle(.complete(id, completedOn: "2026-11-22"), on: Todo.stream(id))
        else { throw SimulatedCrash() }
        return position
    }

    /// Runs `service`'s subscriptions while `body` runs, then stops them and waits until they stopped.
    func running<T>(_ service: Service, _ body: () async throws -> T) async throws -> T {
        let task = Task { await service.run() }
        defer { task.cancel() }
        let result = try await body()
        task.cancel()
        await task.value
        return result
    }

    /// Opens the same file again ("restarts"), lets the notifier catch up with the log, and checks that
    /// there is still exactly one mail and one recorded notification.
    func restartAndExpectOneMail(_ directory: TemporaryDirectory, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let restarted = try await service(directory)
        try await running(restarted) {
            let head = try await restarted.store.headPosition()
            #expect(await restarted.notifier.waitUntilCaughtUp(to: head, timeout: .seconds(10)), sourceLocation: sourceLocation)
        }
        #expect(try mailbox(directory).count == 1, sourceLocation: sourceLocation)
        #expect(try await notifications(restarted).count == 1, sourceLocation: sourceLocation)
    }

    @Test func mailsOnceWithCausationAndAcrossARestart() async throws {
        let directory = try TemporaryDirectory()
        let first = try await service(directory)
        let completed = try await addAndComplete(first)
        try await running(first) {
            #expect(await first.notifier.waitUntilCaughtUp(to: completed, timeout: .seconds(10)))
        }
        let mails = try mailbox(directory)
        #expect(mails.map(\.mail.body) == ["Your todo item Ship it has been completed!"])
        #expect(mails.map(\.mail.to) == ["ada@example.com"])
        let notified = try await notifications(first)
        #expect(notified.count == 1)
        let completion = try await first.store.readAll(after: GlobalPosition(rawValue: completed.rawValue - 1), limit: 1)
        #expect(notified.first?.metadata.causationId == completion.first?.id)
        #expect(notified.first?.metadata.correlationId == completion.first?.metadata.correlationId ?? completion.first?.id)
        #expect(String(decoding: notified.first?.data ?? Data(), as: UTF8.self) == "{\"notified_on\":\"2026-11-22\"}")

        // Restart on the same file: nothing is sent again.
        try await restartAndExpectOneMail(directory)
    }

    @Test func aCrashBetweenSendingAndCheckpointingDoesNotMailTwice() async throws {
        let directory = try TemporaryDirectory()
        let mailbox = try FileMailbox(path: directory.path("todo.mailbox"), today: { "2026-11-22" })
        let first = try await service(directory, sink: CrashAfterDelivery(mailbox))
        let completed = try await addAndComplete(first)
        try await running(first) {
            await eventually("the notifier faults") {
                if case .faulted(let position, _) = first.notifier.currentStatus.state { return position == completed }
                return false
            }
        }
        #expect(try self.mailbox(directory).count == 1)
        #expect(try await notifications(first).isEmpty)
        try await restartAndExpectOneMail(directory)
    }

    @Test func aCrashAfterRecordingButBeforeTheCheckpointDoesNotMailTwice() async throws {
        let directory = try TemporaryDirectory()
        let first = try await service(directory)
        let completed = try await addAndComplete(first)
        let crashing = SubscriptionRunner(
            ReactorConsumer(
                TodoCompletedNotifier(store: first.store, mailSink: first.mailSink),
                checkpoints: CrashBeforeCheckpoint(first.checkpoints, at: completed)),
            kind: .reactor, store: first.store)
        let task = Task { await crashing.run() }
        await eventually("the notifier faults") {
            if case .faulted = crashing.currentStatus.state { return true }
            return false
        }
        task.cancel()
        await task.value
        #expect(try mailbox(directory).count == 1)
        #expect(try await notifications(first).count == 1)
        #expect(try await first.checkpoints.checkpoint(for: "todo_completed_notifier") < completed)
        try await restartAndExpectOneMail(directory)
    }

    @Test func rebuildingEveryProjectionSendsNothing() async throws {
        let directory = try TemporaryDirectory()
        let service = try await service(directory)
        let completed = try await addAndComplete(service)
        try await running(service) {
            #expect(await service.notifier.waitUntilCaughtUp(to: completed.next, timeout: .seconds(10)))
            let notifierProcessed = service.notifier.currentStatus.processed
            for runner in service.readModels {
                #expect(await runner.waitUntilCaughtUp(to: completed.next, timeout: .seconds(10)))
                #expect(runner.currentStatus.processed == 3)
                try runner.requestRebuild()
            }
            for runner in service.readModels {
                await eventually("\(runner.name) rebuilt") { runner.currentStatus.processed >= 2 * 3 }
            }
            #expect(try await service.todos(.completed).map(\.todoId) == [id.description])
            #expect(service.notifier.currentStatus.processed == notifierProcessed)
        }
        #expect(try mailbox(directory).count == 1)
        #expect(try await notifications(service).count == 1)
    }

    @Test func aTodoWithoutAStakeholderIsNotMailed() async throws {
        let directory = try TemporaryDirectory()
        let service = try await service(directory)
        _ = try await service.commands.handle(.add(id, .init(title: "Quiet")), on: Todo.stream(id))
        _ = try await service.commands.handle(.complete(id, completedOn: "2026-11-22"), on: Todo.stream(id))
        try await running(service) {
            #expect(await service.notifier.waitUntilCaughtUp(to: 2, timeout: .seconds(10)))
        }
        #expect(try mailbox(directory).isEmpty)
        #expect(try await notifications(service).isEmpty)
    }
}
