import Chronicle
import ChronicleHTTP
import ChronicleRuntime
import Foundation
import HTTPTypes
import Hummingbird
import TodoApp
import TodoDomain

/// The Todo application with its web side: EventSourcery's Todo API and the TodoMVC page at `/`.
public struct TodoWeb: HTTPModule {
    /// The application: read models and notifier.
    public let todo: TodoModule

    /// The web side of `todo`.
    public init(_ todo: TodoModule) {
        self.todo = todo
    }

    public var application: any ApplicationModule { todo }

    public func addRoutes(to routes: RouteTable, runtime: ChronicleRuntime) {
        TodoRoutes(runtime: runtime, commands: todo.commands(runtime)).register(on: routes)
    }

    /// TodoMVC is the site's home page.
    public var pages: StaticPages? { StaticPages(folder: Bundle.module.resourceURL?.appendingPathComponent("Public"), path: "/") }
}

/// Whether a rejection is the caller's malformed request (400) or a broken business rule (422): the
/// web side's decision, not the domain's.
extension Todo.Rejection: APIErrorConvertible {
    public var apiError: APIError {
        switch self {
        case .titleBlank, .blank, .invalidDate: APIError(.badRequest, description)
        default: APIError(.unprocessableContent, description)
        }
    }
}

/// EventSourcery's Todo API, route for route and status for status, plus reopen, clear and the board.
struct TodoRoutes {
    let runtime: ChronicleRuntime
    let commands: CommandHandler<Todo, TodoEventCodec>

    func register(on router: RouteTable) {
        router.post("/todo/:id") { request, context in
            let id = try todoId(context)
            let body = try await JSONBody.object(of: request, context: context)
            let details = Todo.Details(
                title: try body.string("title"), description: try body.string("description"),
                dueDate: try body.string("due_date"), stakeholderEmail: try body.string("stakeholder_email"))
            return try await send(AddTodo(todoId: id, details: details), created: true)
        }
        router.put("/todo/:id") { request, context in
            let id = try todoId(context)
            let body = try await JSONBody.object(of: request, context: context)
            let amendment = Todo.Amendment(
                title: try patch(body, "title"), description: try patch(body, "description"),
                dueDate: try patch(body, "due_date"), stakeholderEmail: try patch(body, "stakeholder_email"))
            return try await send(AmendTodo(todoId: id, amendment: amendment))
        }
        router.post("/todo/:id/complete") { request, context in
            let id = try todoId(context)
            let body = try await JSONBody.object(of: request, context: context)
            return try await send(CompleteTodo(todoId: id, completedOn: try body.string("completed_on")))
        }
        router.post("/todo/:id/abandon") { request, context in
            let id = try todoId(context)
            let body = try await JSONBody.object(of: request, context: context)
            return try await send(AbandonTodo(todoId: id, abandonedOn: try body.string("abandoned_on")))
        }
        router.put("/todo/:id/moveup") { request, context in
            let id = try todoId(context)
            _ = try await JSONBody.object(of: request, context: context)
            return try await send(MoveUpTodo(todoId: id))
        }
        router.post("/todo/:id/reopen") { request, context in
            let id = try todoId(context)
            _ = try await JSONBody.object(of: request, context: context)
            return try await send(ReopenTodo(todoId: id))
        }
        router.post("/todo/:id/clear") { request, context in
            let id = try todoId(context)
            _ = try await JSONBody.object(of: request, context: context)
            return try await send(ClearTodo(todoId: id))
        }
        // The todo now, or as it was at a version of its stream or at a time (`?version=N`, `?at=ISO 8601`).
        router.get("/todo/:id") { request, context in
            let id = try todoId(context)
            let point = try StreamPointInTime(request)
            guard let (state, reached) = try await commands.state(of: Todo.stream(id), asOfVersion: point.version, recordedBy: point.recordedBy),
                let body = TodoStateBody(id: id, state: state, version: reached)
            else { return JSONBody.error(.notFound, point.isNow ? "no todo \(id)" : "todo \(id) did not exist then") }
            return JSONBody.response(.ok, body)
        }
        for list in TodoReadModel.List.allCases {
            router.get("/todos/\(list.rawValue)") { request, _ in
                try await query(list, request)
            }
        }
    }

    private func todoId(_ context: ChronicleRequestContext) throws -> TodoID {
        guard let raw = context.parameters.get("id"), let id = TodoID(raw) else {
            throw APIError.badRequest("todo_id is not a UUID")
        }
        return id
    }

    private func patch(_ body: [String: JSONValue], _ key: String) throws -> Patch<String> {
        switch body[key] {
        case nil: return .unchanged
        case .null?: return .cleared
        case .string(let s)?: return .set(s)
        default: throw APIError.badRequest("\(key) must be a string or null")
        }
    }

    /// Sends the command through the bus and answers EventSourcery's statuses: 201/200 accepted; a
    /// rejection as the edge maps it (400 input error, 422 broken rule); a conflict after retries is the
    /// edge's 409.
    private func send(_ command: some TodoCommand, created: Bool = false) async throws -> Response {
        // Each request is a command of its own: it causes, and starts the conversation of, what it appends.
        let commandId = UUID()
        switch try await runtime.bus.send(command, metadata: Metadata(causationId: commandId, correlationId: commandId)) {
        case .accepted(_, let version, let position):
            let position = if let position { position } else { try await runtime.store.headPosition() }
            return JSONBody.response(
                created ? .created : .ok, AcceptedBody(todoId: command.todoId.description, streamVersion: version, position: position.rawValue))
        case .rejected(let rejection):
            throw rejection.error
        }
    }

    /// A list: as it was when the log ended at `?as_of=`, or now — after waiting (bounded) for its read
    /// model to reach `?after=` when asked to.
    private func query(_ list: TodoReadModel.List, _ request: Request) async throws -> Response {
        JSONBody.response(.ok, try await runtime.rows(TodoReadModel(list).query, for: request).map { TodoBody($0, list: list) })
    }
}

/// A command's answer: the todo, its stream's version and the position of the last event written
/// (the log's head for a no-op), which `?after=` accepts.
struct AcceptedBody: Encodable {
    let todoId: String
    let streamVersion: Int64
    let position: Int64

    enum CodingKeys: String, CodingKey {
        case todoId = "todo_id", streamVersion = "stream_version", position
    }
}

/// One todo in a list: absent fields are `null`; completed lists add `completed_on`, the board adds `completed`.
struct TodoBody: Encodable {
    let item: TodoItem
    let list: TodoReadModel.List

    init(_ item: TodoItem, list: TodoReadModel.List) {
        self.item = item
        self.list = list
    }

    enum CodingKeys: String, CodingKey {
        case todoId = "todo_id", title, description, dueDate = "due_date", stakeholderEmail = "stakeholder_email"
        case completedOn = "completed_on", completed
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(item.todoId, forKey: .todoId)
        try c.encode(item.title, forKey: .title)
        try c.encode(item.description, forKey: .description)
        try c.encode(item.dueDate, forKey: .dueDate)
        try c.encode(item.stakeholderEmail, forKey: .stakeholderEmail)
        switch list {
        case .completed:
            try c.encode(item.completedOn, forKey: .completedOn)
        case .board:
            try c.encode(item.completed, forKey: .completed)
            try c.encode(item.completedOn, forKey: .completedOn)
        case .outstanding, .scheduled:
            break
        }
    }
}

/// One todo's state: `{todo_id, title, description, due_date, stakeholder_email, status, version}`,
/// status `outstanding`, `completed`, `abandoned` or `cleared`.
struct TodoStateBody: Encodable {
    let todoId: String
    let title: String?
    let description: String?
    let dueDate: String?
    let stakeholderEmail: String?
    let status: String
    let completedOn: String?
    let version: Int64

    init?(id: TodoID, state: Todo.State, version: StreamVersion) {
        switch state.status {
        case .unknown: return nil
        case .outstanding: status = "outstanding"
        case .completed: status = state.cleared ? "cleared" : "completed"
        case .abandoned: status = "abandoned"
        }
        todoId = id.description
        title = state.title
        description = state.description
        dueDate = state.dueDate
        stakeholderEmail = state.stakeholderEmail
        completedOn = state.completedOn
        self.version = version
    }

    enum CodingKeys: String, CodingKey {
        case todoId = "todo_id", title, description, dueDate = "due_date", stakeholderEmail = "stakeholder_email", status
        case completedOn = "completed_on", version
    }
}
