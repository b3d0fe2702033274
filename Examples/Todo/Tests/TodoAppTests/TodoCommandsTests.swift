import Chronicle
import ChronicleRuntime
import ChronicleTesting
import Foundation
import TodoApp
import TodoDomain
import Testing

/// Todo's commands go through the bus, as every application's do: its routes send typed values.
@Suite struct TodoCommandsTests {
    @Test func everyTodoCommandIsOnTheBusTypedAndNotExposed() async throws {
        let directory = try TemporaryDirectory()
        let runtime = try ChronicleRuntime(
            configuration: .init(sqlitePath: directory.path("todo.sqlite")), modules: [TodoModule(mailSink: DiscardingMailSink())])
        try await runtime.prepare()
        #expect(Set(runtime.bus.types) == Set(Todo.commandTypes.map { $0.typeName }))
        #expect(runtime.bus.exposedTypes.isEmpty, "Todo's API is its routes")
        let id = TodoID(UUID())
        let added = try await runtime.bus.send(AddTodo(todoId: id, details: .init(title: "Ship it")))
        #expect(added == .accepted(events: ["TodoAdded"], streamVersion: 1, position: 1))
        guard case .rejected(let rejection) = try await runtime.bus.send(AddTodo(todoId: id, details: .init(title: "Again"))) else {
            Issue.record("a second add was accepted")
            return
        }
        // The rejection reaches the edge as the decider's own type, for its APIErrorConvertible mapping.
        #expect(rejection.error as? Todo.Rejection == .alreadyExists(id))
        #expect(try await runtime.bus.send(CompleteTodo(todoId: id, completedOn: "2026-12-06")) == .accepted(events: ["TodoCompleted"], streamVersion: 2, position: 2))
    }
}
