import Chronicle
import ChroniclePostgres
import ChronicleRuntime
import ChronicleSQLite
import ChronicleTesting
import Foundation
import Logging
import TodoApp
import TodoDomain
import Testing

@Suite(.enabled(if: ScaleOut.isAvailable, "set DATABASE_URL (scripts/test starts a throwaway PostgreSQL)"))
struct FailoverTests {
    /// Two worker processes share the subscriptions; the owner of the board is killed with SIGKILL while
    /// commands flow. The survivor takes over, the read models end identical to a fresh rebuild, and every
    /// stakeholder got exactly one mail.
    @Test func aSurvivingWorkerTakesOverAndNothingIsLostOrRepeated() async throws {
        let url = try ScaleOut.requireURL()
        try await PostgresDatabase.withTemporarySchema(url: url) { database, schema in
            let directory = try TemporaryDirectory()
            let mailbox = directory.path("todo.mailbox")
            let workers = try (0..<2).map { n in
                try ChronicleProcess(
                    ["worker", "--postgres", "\(url)?search_path=\(schema)", "--mailbox", mailbox, "--log-level", "notice"],
                    directory: directory, name: "worker\(n)")
            }
            // This process only appends and reads: it runs no subscription.
            let todo = TodoModule(mailSink: try FileMailbox(path: mailbox))
            let runtime = try ChronicleRuntime(configuration: .init(backend: .postgres(database)), modules: [todo])
            try await runtime.prepare()
            let commands = todo.commands(runtime)

            func owners() async throws -> [String: (epoch: Int64, owner: String)] {
                var result: [String: (Int64, String)] = [:]
                for row in try await database.rows(SQLStatement("SELECT name, epoch, owner FROM subscription_owners")) {
                    if let name = row["name"]?.text, let epoch = row["epoch"]?.integer, let owner = row["owner"]?.text {
                        result[name] = (epoch, owner)
                    }
                }
                return result
            }
            // The worker hosts every application: the Todo app's five subscriptions among them.
            let todoSubscriptions = Set(runtime.subscriptions.map(\.name))
            await eventually(timeout: .seconds(30), "every subscription has an owner") {
                (try? await todoSubscriptions.isSubset(of: Set(owners().keys))) == true
            }

            // Commands flow while the board's owner dies.
            var mailed = 0
            func command(_ command: Todo.Command) async throws {
                guard case .accepted = try await commands.handle(command, on: Todo.stream(command.todoId)) else {
                    Issue.record("rejected: \(command)")
                    return
                }
            }
            var ids: [TodoID] = []
            for n in 0..<40 {
                let id = TodoID(UUID())
                ids.append(id)
                let email = n % 2 == 0 ? "stakeholder\(n)@example.com" : nil
                try await command(.add(id, .init(title: "Todo \(n)", dueDate: n % 3 == 0 ? "2027-01-\(10 + n % 15)" : nil, stakeholderEmail: email)))
                if n % 4 == 1 { try await command(.moveUp(id)) }
                if n % 5 == 2 { try await command(.amend(id, .init(title: .set("Todo \(n) amended"), description: .set("d")))) }
                if n % 3 == 0 {
                    try await command(.complete(id, completedOn: "2026-11-22"))
                    if email != nil { mailed += 1 }
                }
                if n % 7 == 6, n % 3 != 0 { try await command(.abandon(id, abandonedOn: "2026-11-22")) }
                if n % 9 == 0 { try await command(.clear(id)) }
                if n == 15 {
                    let owner = try #require(try await owners()["todo_board"]).owner
                    let victim = try #require(workers.first { owner.hasSuffix(":\($0.pid)") }, "owner \(owner) is not a worker of this test")
                    victim.kill(SIGKILL)
                    #expect(await victim.waitForExit(timeout: .seconds(10)) != nil)
                }
            }

            // The survivor owns everything and catches up with the log (its own notifications included).
            let survivor = try #require(workers.first { $0.process.isRunning })
            await eventually(timeout: .seconds(30), "the survivor owns every subscription") {
                (try? await owners().values.allSatisfy { $0.owner.hasSuffix(":\(survivor.pid)") && $0.epoch >= 1 }) == true
            }
            #expect(try await owners()["todo_board"].map { $0.epoch } ?? 0 >= 2)
            let checkpoints = PostgresCheckpointStore(database: database)
            await eventually(timeout: .seconds(60), "every subscription reaches the head") {
                guard let head = try? await runtime.store.headPosition(), let names = try? await owners().keys else { return false }
                for name in names {
                    guard let checkpoint = try? await checkpoints.checkpoint(for: name), checkpoint >= head else { return false }
                }
                return (try? FileMailbox.read(path: mailbox).count) == mailed
            }

            // Every stakeholder mailed once.
            let mails = try FileMailbox.read(path: mailbox)
            #expect(mails.count == mailed)
            #expect(Set(mails.map(\.mail.id)).count == mails.count)
            var notified = 0
            var after = GlobalPosition.start
            var all: [RecordedEvent] = []
            while true {
                let page = try await runtime.store.readAll(after: after, limit: 500)
                guard let last = page.last else { break }
                all += page
                after = last.position
            }
            notified = all.filter { $0.type == "StakeholderNotifiedOfTodoCompletion" }.count
            #expect(notified == mailed)

            // The read models equal a fresh rebuild from the same log (on SQLite, for good measure).
            let rebuilt = try SQLiteDatabase(path: directory.path("rebuild.sqlite"))
            for list in TodoReadModel.List.allCases {
                let projection = try await SQLiteProjection(TodoReadModel(list), database: rebuilt).prepared()
                try await projection.consume(all)
                let fresh = try await rebuilt.rows(TodoReadModel(list).query)
                #expect(try await TodoModule.todos(list, in: runtime) == fresh, "\(list)")
            }
            #expect(try await TodoModule.todos(.outstanding, in: runtime).isEmpty == false)

            survivor.kill(SIGTERM)
            #expect(await survivor.waitForExit(timeout: .seconds(20)) == 0, "\(survivor.log)")
        }
    }
}
