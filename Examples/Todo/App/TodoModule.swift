import Chronicle
import ChronicleRuntime
import Foundation
import TodoDomain

/// The Todo application as a module of a ``ChronicleRuntime``: its four read models and its notifier.
/// Its web side (the API and the TodoMVC page) is ``TodoWeb`` in TodoHTTP.
public struct TodoModule: ApplicationModule {
    public let name = "todo"
    /// Where the notifier's mail goes.
    public let mailSink: any MailSink
    /// How many times a command is decided at most when writers race (default 5).
    public let maxCommandAttempts: Int

    /// The module, mailing through `mailSink`.
    public init(mailSink: any MailSink, maxCommandAttempts: Int = 5) {
        self.mailSink = mailSink
        self.maxCommandAttempts = maxCommandAttempts
    }

    /// The four lists read the same events: each is decoded once for all of them.
    public var readModels: [any SQLReadModel] {
        let decoding = SharedDecoding(TodoEventCodec())
        return TodoReadModel.List.allCases.map { TodoReadModel($0, decoding: decoding) }
    }

    public func reactors(_ context: ModuleContext) -> [any Reactor] {
        [TodoCompletedNotifier(store: context.store, mailSink: mailSink)]
    }

    /// Todo's commands, sent by its own routes (not exposed on `POST /commands/:type`), and how its
    /// streams are reverted.
    public func registerCommands(on bus: CommandBus, runtime: ChronicleRuntime) throws {
        let handler = commands(runtime)
        func register<C: TodoCommand>(_ type: C.Type) throws {
            try bus.register(C.self, exposed: false, handler: handler) { ($0.decided, Todo.stream($0.todoId)) }
        }
        for type in Todo.commandTypes { try register(type) }
        runtime.reverts.register(category: Todo.category.name, Reverter<Todo, TodoEventCodec>(store: runtime.store, codec: TodoEventCodec()))
    }

    public func commands(_ runtime: ChronicleRuntime) -> CommandHandler<Todo, TodoEventCodec> {
        CommandHandler(store: runtime.store, codec: TodoEventCodec(), maxAttempts: maxCommandAttempts, snapshots: runtime.snapshots)
    }

    /// A todo's title, from the events that set it.
    public func summary(of event: RecordedEvent) -> String? {
        guard event.stream.category == Todo.category.name else { return nil }
        switch try? TodoEventCodec().decode(event) {
        case .added(let details)?: return details.title
        case .amended(let amendment)?: if case .set(let title) = amendment.title { return title } else { return nil }
        default: return nil
        }
    }

    /// The todos of `list`, as its read model in `runtime` holds them now.
    public static func todos(_ list: TodoReadModel.List, in runtime: ChronicleRuntime) async throws -> [TodoItem] {
        try await runtime.queries.rows(TodoReadModel(list).query)
    }
}
