import Chronicle
import ChroniclePostgres
import ChronicleHTTP
import ChronicleHTTPTesting
import ChronicleRuntime
import ChronicleTesting
import Foundation
import Synchronization
import PizzaApp
import PizzaHTTP
import TodoApp
import TodoHTTP
import Testing

/// Replays on the Todo app, on both backends: a rebuild beside the live read model while commands and
/// queries keep coming, read models as of a position, a revert, and a read model that is new to an old
/// log — and through all of them, nothing reaches the outside world again.
@Suite struct ReplayTests {
    @Test func replaysOnSQLite() async throws {
        let directory = try TemporaryDirectory()
        try await Self.replays(on: .sqlite(path: directory.path("todo.sqlite")), directory: directory, noise: 20_000)
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["DATABASE_URL"] != nil || ProcessInfo.processInfo.environment["CI"] == "true"))
    func replaysOnPostgreSQL() async throws {
        let url = try #require(ProcessInfo.processInfo.environment["DATABASE_URL"], "DATABASE_URL is not set: run scripts/test")
        try await PostgresDatabase.withTemporarySchema(url: url) { database, _ in
            try await Self.replays(on: .postgres(database), directory: try TemporaryDirectory(), noise: 5_000)
        }
    }

    /// `noise`: events of another category, which the read models read past without a write (and which
    /// make a rebuild last long enough to be caught in the act).
    static func replays(on backend: ChronicleRuntime.Backend, directory: TemporaryDirectory, noise count: Int) async throws {
        let (mailbox, courier) = (directory.path("todo.mailbox"), directory.path("pizza.courier"))
        // The Todo app (a reactor: the notifier) and the pizza pipeline (a process manager: the kitchen;
        // a reactor: the courier), each with its outside world in a file.
        // Every delivery is counted on its way out, before the files keep each message once.
        let deliveries = CountingSink.Count()
        func modules(_ extra: [any ApplicationModule] = []) throws -> [any HTTPModule] {
            let todo = TodoModule(mailSink: CountingSink(try FileMailbox(path: mailbox, today: { "2026-11-22" }), deliveries))
            let pizza = PizzaModule(step: .zero, courier: CountingSink(try FileMailbox(path: courier, today: { "2026-11-22" }), deliveries))
            return [TodoWeb(todo), PizzaWeb(pizza)] + extra.map { ApplicationOnly($0) }
        }
        let first = try TestServer(modules: try modules(), backend: backend, directory: directory)
        let runtime = first.runtime
        let (ids, cut) = try await first.run { client in
            // A history: todos added, amended, moved up, completed (a mail each), abandoned; and events of
            // another category.
            var ids: [String] = []
            for n in 0..<60 {
                let id = newId()
                ids.append(id)
                _ = try await client.send(.post, "/todo/\(id)", json: #"{"title": "Task \#(n)", "stakeholder_email": "ada@example.com"}"#)
            }
            for id in ids.prefix(10) { _ = try await client.send(.post, "/todo/\(id)/complete", json: #"{"completed_on": "2026-11-30"}"#) }
            for id in ids[10..<15] { _ = try await client.send(.post, "/todo/\(id)/abandon", json: #"{"abandoned_on": "2026-11-30"}"#) }
            for id in ids[20..<25] { _ = try await client.send(.put, "/todo/\(id)/moveup", json: "{}") }
            _ = try await client.send(.put, "/todo/\(ids[30])", json: #"{"title": "Task 30, renamed"}"#)
            let noise = try StreamName(category: "noise", id: "replay")
            for _ in 0..<(count / 1_000) {
                let events = (0..<1_000).map { _ in NewEvent(id: UUID(), type: "Noise", data: Data("{}".utf8)) }
                try await runtime.store.append(events, to: noise, expecting: .any)
            }
            _ = try await client.send(.post, "/todo/\(ids[40])/complete", json: #"{"completed_on": "2026-12-01"}"#)
            for _ in 0..<3 { #expect(try await client.send(.post, "/pizza/orders", json: Self.pizza).status == 202) }
            try await eventually(timeout: .seconds(30), "three pizzas delivered") {
                (try await client.get("/pizza/customers/ann/orders").json?.arrayValue ?? []).filter { $0["status"] == "delivered" }.count == 3
            }
            let cut = try await runtime.store.headPosition()
            try await Self.settled(runtime)
            #expect(try FileMailbox.read(path: mailbox).count == 11)
            #expect(try FileMailbox.read(path: courier).count == 3)
            #expect(deliveries.value == 14)
            let kitchenEvents = try await Self.count(category: "pizza", in: runtime.store)

            // What the outside world has seen, and the reactor's place in the log.
            let mails = try FileMailbox.read(path: mailbox).count
            let notifications = try await Self.notifications(runtime.store)
            let notifier = try #require(runtime.runner(named: "todo_completed_notifier"))
            let notifierProcessed = notifier.currentStatus.processed
            let settledAt = try await runtime.store.headPosition()

            // 1. A rebuild of `outstanding_todos` beside the live one, under a load of commands and queries.
            let load = LoadState()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    var n = 0
                    while !load.stop.load(ordering: .relaxed) {
                        n += 1
                        let answer = try await client.send(.post, "/todo/\(newId())", json: #"{"title": "Load \#(n)"}"#)
                        if answer.status != 201 { load.badWrites.withLock { $0.append("\(answer)") } }
                    }
                }
                group.addTask {
                    while !load.stop.load(ordering: .relaxed) {
                        let during = load.rebuilding.load(ordering: .relaxed)
                        let answer = try await client.get("/todos/outstanding")
                        if answer.status != 200 || (answer.json?.arrayValue?.count ?? 0) < 44 {
                            load.badReads.withLock { $0.append("\(answer.status) \(answer.json?.arrayValue?.count ?? -1)") }
                        } else if during {
                            load.readsDuringRebuild.add(1, ordering: .relaxed)
                        }
                    }
                }
                let requested = try await client.send(.post, "/admin/api/subscriptions/outstanding_todos/rebuild", json: "{}")
                #expect(requested.status == 200, "\(requested)")
                var sawProgress = false
                let done = try await eventually(timeout: .seconds(120), "the rebuild is swapped in") {
                    let rows = try await client.get("/admin/api/subscriptions")["subscriptions"]?.arrayValue ?? []
                    let rebuild = rows.first { $0["name"] == "outstanding_todos" }?["rebuild"]
                    let phase = rebuild?["phase"]?.stringValue
                    load.rebuilding.store(phase == "building" || phase == "swapping", ordering: .relaxed)
                    if phase == "building", case .number(let total)? = rebuild?["total"], total > 0 { sawProgress = true }
                    #expect(phase != "failed", "\(String(describing: rebuild))")
                    return phase == "done"
                }
                load.stop.store(true, ordering: .relaxed)
                try await group.waitForAll()
                #expect(done && sawProgress)
            }
            #expect(load.badReads.withLock { $0 }.isEmpty, "\(load.badReads.withLock { $0.prefix(5) })")
            #expect(load.badWrites.withLock { $0 }.isEmpty, "\(load.badWrites.withLock { $0.prefix(5) })")
            #expect(load.readsDuringRebuild.load(ordering: .relaxed) > 0, "no query was answered while the rebuild ran")

            // The rebuilt read model is the log's: equal to every other list's view of the same todos.
            try await Self.settled(runtime)
            let head = try await runtime.store.headPosition()
            let rebuilt = try await client.get("/todos/outstanding?after=\(head.rawValue)").json?.arrayValue ?? []
            let built = try await client.get("/todos/outstanding?as_of=\(head.rawValue)").json?.arrayValue ?? []
            #expect(rebuilt == built && rebuilt.count >= 44, "\(rebuilt.count) / \(built.count)")
            #expect(try await client.get("/todos/outstanding?as_of=\(head.rawValue + 1)").status == 400)
            // By time: before the first event, nothing; after the last, the head.
            let before = try await client.get("/todos/outstanding?as_of=2000-01-01T00:00:00Z")
            #expect(before.status == 200 && before.json?.arrayValue?.isEmpty == true, "\(before)")
            #expect(try await client.get("/todos/outstanding?as_of=2999-01-01T00:00:00Z").json?.arrayValue == built)
            #expect(try await client.get("/todos/outstanding?as_of=soon").status == 400)
            #expect(try await client.send(.post, "/admin/api/subscriptions/todo_completed_notifier/rebuild", json: "{}").status == 422)

            // 2. A revert reads back as the state at that version.
            let reverted = try await client.send(.post, "/admin/api/streams/todo-\(ids[30])/revert", json: #"{"to_version": 1}"#)
            #expect(reverted.status == 200 && reverted["reverted"] == true, "\(reverted)")
            let now = try await client.get("/todo/\(ids[30])")
            let then = try await client.get("/todo/\(ids[30])?version=1")
            #expect(now["title"] == "Task 30" && now["title"] == then["title"] && now["status"] == then["status"], "\(now) / \(then)")

            // Nothing reached the outside world again: no mail, no new notification, the reactor read
            // each event once.
            // The pizza orders rebuilt too, and read as of a position: no order moves, no courier is called.
            try await runtime.replays.rebuild("pizza_orders")
            #expect(try await client.get("/pizza/kitchen?as_of=\(cut.rawValue)").status == 200)
            #expect(try await client.get("/pizza/customers/ann/orders?as_of=\(cut.rawValue)").json?.arrayValue?.count == 3)
            try await Self.settled(runtime)
            #expect(try FileMailbox.read(path: mailbox).count == mails)
            #expect(try await Self.notifications(runtime.store) == notifications)
            #expect(try FileMailbox.read(path: courier).count == 3)
            #expect(deliveries.value == 14, "no delivery was attempted again")
            #expect(try await Self.count(category: "pizza", in: runtime.store) == kitchenEvents)
            let processedSince = notifier.currentStatus.processed - notifierProcessed
            let newEvents = Int(try await runtime.store.headPosition().rawValue - settledAt.rawValue)
            #expect(processedSince == newEvents, "the notifier read \(processedSince) events for \(newEvents) new ones")
            return (ids, cut)
        }

        // 3. Read models as of a position equal a fresh projection of the log cut there.
        for position in [GlobalPosition(rawValue: 30), GlobalPosition(rawValue: 75), cut] {
            let fresh = try await Self.freshProjection(of: runtime.store, upTo: position, directory: directory)
            let asOf = try await runtime.replays.queries(asOf: position, module: "todo")
            for list in TodoReadModel.List.allCases {
                let then = try await asOf.rows(TodoReadModel(list).query)
                #expect(then == (try await TodoModule.todos(list, in: fresh)), "\(list) as of \(position)")
            }
            #expect(try await TodoModule.todos(.outstanding, in: fresh).isEmpty == false)
        }

        // 4. A runtime with a read model new to this log catches up from 0, and sends nothing.
        let mails = try FileMailbox.read(path: mailbox).count
        let kitchenEvents = try await Self.count(category: "pizza", in: runtime.store)
        let second = try TestServer(modules: try modules([TallyOfTodos()]), backend: backend, directory: directory)
        try await second.run { client in
            let head = try await second.runtime.store.headPosition()
            #expect(await second.runtime.waitForReadModel("todo_tally", toReach: head, timeout: .seconds(60)))
            let tally = try await second.runtime.queries.rows(SQLStatement("SELECT added FROM todo_tally"))
            let added = try await Self.count("TodoAdded", in: second.runtime.store)
            #expect(added > ids.count && tally.first?["added"]?.integer == Int64(added), "\(tally) for \(added)")
            // Rebuilt, a read model whose tables are created with a row in them swaps in whole.
            try await second.runtime.replays.rebuild("todo_tally")
            let rebuilt = try await second.runtime.queries.rows(SQLStatement("SELECT added FROM todo_tally"))
            #expect(rebuilt == tally, "\(rebuilt)")
            #expect(try await client.get("/todos/outstanding").status == 200)
            try await Self.settled(second.runtime)
            // The reactors and process managers went on from their own checkpoints: nothing read again.
            for subscription in second.runtime.subscriptions where subscription.model == nil {
                #expect(subscription.runner.currentStatus.processed == 0, "\(subscription.name) read the log again")
            }
        }
        #expect(deliveries.value == 14, "no delivery was attempted again")
        #expect(try FileMailbox.read(path: mailbox).count == mails)
        #expect(try FileMailbox.read(path: courier).count == 3)
        #expect(try await Self.count(category: "pizza", in: runtime.store) == kitchenEvents)
    }

    static let pizza = #"{"customer_id": "ann", "sauce": "tomato", "cheese": "mozzarella", "main_topping": "margherita", "extra_toppings": []}"#

    /// How many events of streams in `category` the log holds.
    static func count(category: String, in store: any EventStore) async throws -> Int {
        var (count, after) = (0, GlobalPosition.start)
        while true {
            let page = try await store.readAll(after: after, limit: 1_000)
            guard let last = page.last else { return count }
            count += page.filter { $0.stream.category == category }.count
            after = last.position
        }
    }

    /// Waits until every subscription of `runtime` has read the whole log.
    static func settled(_ runtime: ChronicleRuntime) async throws {
        let head = try await runtime.store.headPosition()
        for subscription in runtime.subscriptions {
            #expect(await subscription.runner.waitUntilCaughtUp(to: head, timeout: .seconds(60)), "\(subscription.name)")
        }
    }

    /// How many `StakeholderNotifiedOfTodoCompletion` events the log holds.
    static func notifications(_ store: any EventStore) async throws -> Int {
        try await count("StakeholderNotifiedOfTodoCompletion", in: store)
    }

    /// How many events of `type` the log holds.
    static func count(_ type: String, in store: any EventStore) async throws -> Int {
        var (count, after) = (0, GlobalPosition.start)
        while true {
            let page = try await store.readAll(after: after, limit: 1_000)
            guard let last = page.last else { return count }
            count += page.filter { $0.type == type }.count
            after = last.position
        }
    }

    /// The Todo read models of a new SQLite file holding a copy of the log up to `position`, projected
    /// there from scratch (no reactor runs: its runtime runs only read models).
    static func freshProjection(of store: any EventStore, upTo position: GlobalPosition, directory: TemporaryDirectory) async throws
        -> ChronicleRuntime
    {
        let path = directory.path("cut-\(position.rawValue).sqlite")
        let fresh = try ChronicleRuntime(configuration: .init(sqlitePath: path), modules: [TodoReadModelsOnly()])
        var after = GlobalPosition.start
        while after < position {
            let page = try await store.readAll(after: after, limit: 1_000).filter { $0.position <= position }
            guard let last = page.last else { break }
            // Runs of one stream's events go in one append each: the same positions, fewer commits.
            var run: [RecordedEvent] = []
            for event in page + [nil] as [RecordedEvent?] {
                if let event, run.isEmpty || run[0].stream == event.stream {
                    run.append(event)
                    continue
                }
                let copies = run.map { NewEvent(id: $0.id, type: $0.type, schemaVersion: $0.schemaVersion, data: $0.data, metadata: $0.metadata) }
                try await fresh.store.append(copies, to: run[0].stream, expecting: .any)
                run = event.map { [$0] } ?? []
            }
            after = last.position
        }
        #expect(try await fresh.store.headPosition() == position)
        try await fresh.prepare()
        await withTaskGroup(of: Void.self) { group in
            for runner in fresh.runners { group.addTask { await runner.run() } }
            for runner in fresh.runners { _ = await runner.waitUntilCaughtUp(to: position, timeout: .seconds(60)) }
            group.cancelAll()
        }
        return fresh
    }
}

/// What the load and the watcher of a rebuild share.
final class LoadState: Sendable {
    let stop = Atomic<Bool>(false)
    let rebuilding = Atomic<Bool>(false)
    let readsDuringRebuild = Atomic<Int>(0)
    let badReads = Mutex<[String]>([])
    let badWrites = Mutex<[String]>([])
}

/// The Todo read models alone: what a fresh projection of a copied log runs.
struct TodoReadModelsOnly: ApplicationModule {
    let name = "todo"
    var readModels: [any SQLReadModel] { TodoModule(mailSink: NoMail()).readModels }
}

/// Counts deliveries, then hands them on.
struct CountingSink: MailSink {
    final class Count: Sendable {
        let deliveries = Atomic<Int>(0)
        var value: Int { deliveries.load(ordering: .relaxed) }
    }

    let inner: any MailSink
    let count: Count

    init(_ inner: any MailSink, _ count: Count) {
        self.inner = inner
        self.count = count
    }

    func deliver(_ mail: Mail) async throws -> String {
        count.deliveries.add(1, ordering: .relaxed)
        return try await inner.deliver(mail)
    }
}

struct NoMail: MailSink {
    func deliver(_ mail: Mail) async throws -> String { "" }
}

/// A read model that a runtime adds to an old log: how many todos were ever added.
struct TallyOfTodos: ApplicationModule {
    let name = "tally"
    var readModels: [any SQLReadModel] { [Tally()] }

    struct Tally: SQLReadModel {
        let name = "todo_tally"
        var createStatements: [SQLStatement] {
            [
                SQLStatement("CREATE TABLE IF NOT EXISTS todo_tally (id BIGINT PRIMARY KEY, added BIGINT NOT NULL)"),
                SQLStatement("INSERT INTO todo_tally (id, added) VALUES (1, 0) ON CONFLICT (id) DO NOTHING"),
            ]
        }
        var dropStatements: [SQLStatement] { [SQLStatement("DROP TABLE IF EXISTS todo_tally")] }
        func statements(for event: RecordedEvent) throws -> [SQLStatement] {
            event.type == "TodoAdded" ? [SQLStatement("UPDATE todo_tally SET added = added + 1")] : []
        }
    }
}
