import Chronicle

// Todo's commands, as its routes send them through the bus (the todo's id from the path, the rest from
// the body): one command path for every application. They are not exposed on `POST /commands/:type`:
// Todo's API is EventSourcery's routes.

/// A command for one todo: the decider's command and the todo's id.
public protocol TodoCommand: NamedCommand {
    /// The todo it is for.
    var todoId: TodoID { get }
    /// What the decider decides.
    var decided: Todo.Command { get }
}

/// `POST /todo/:id`.
public struct AddTodo: TodoCommand {
    public static let typeName = "AddTodo"
    public let todoId: TodoID
    public let details: Todo.Details
    public init(todoId: TodoID, details: Todo.Details) { (self.todoId, self.details) = (todoId, details) }
    public var decided: Todo.Command { .add(todoId, details) }
}

/// `PUT /todo/:id`.
public struct AmendTodo: TodoCommand {
    public static let typeName = "AmendTodo"
    public let todoId: TodoID
    public let amendment: Todo.Amendment
    public init(todoId: TodoID, amendment: Todo.Amendment) { (self.todoId, self.amendment) = (todoId, amendment) }
    public var decided: Todo.Command { .amend(todoId, amendment) }
}

/// `POST /todo/:id/complete`.
public struct CompleteTodo: TodoCommand {
    public static let typeName = "CompleteTodo"
    public let todoId: TodoID
    public let completedOn: String?
    public init(todoId: TodoID, completedOn: String?) { (self.todoId, self.completedOn) = (todoId, completedOn) }
    public var decided: Todo.Command { .complete(todoId, completedOn: completedOn) }
}

/// `POST /todo/:id/abandon`.
public struct AbandonTodo: TodoCommand {
    public static let typeName = "AbandonTodo"
    public let todoId: TodoID
    public let abandonedOn: String?
    public init(todoId: TodoID, abandonedOn: String?) { (self.todoId, self.abandonedOn) = (todoId, abandonedOn) }
    public var decided: Todo.Command { .abandon(todoId, abandonedOn: abandonedOn) }
}

/// `PUT /todo/:id/moveup`.
public struct MoveUpTodo: TodoCommand {
    public static let typeName = "MoveUpTodo"
    public let todoId: TodoID
    public init(todoId: TodoID) { self.todoId = todoId }
    public var decided: Todo.Command { .moveUp(todoId) }
}

/// `POST /todo/:id/reopen`.
public struct ReopenTodo: TodoCommand {
    public static let typeName = "ReopenTodo"
    public let todoId: TodoID
    public init(todoId: TodoID) { self.todoId = todoId }
    public var decided: Todo.Command { .reopen(todoId) }
}

/// `POST /todo/:id/clear`.
public struct ClearTodo: TodoCommand {
    public static let typeName = "ClearTodo"
    public let todoId: TodoID
    public init(todoId: TodoID) { self.todoId = todoId }
    public var decided: Todo.Command { .clear(todoId) }
}

extension Todo {
    /// Every command type of a todo.
    public static let commandTypes: [any TodoCommand.Type] = [
        AddTodo.self, AmendTodo.self, CompleteTodo.self, AbandonTodo.self, MoveUpTodo.self, ReopenTodo.self, ClearTodo.self,
    ]
}
