import Chronicle
import Foundation
import Testing
import TodoDomain

/// Reverse events: a revert appends compensating events that bring the state back, keeps history, and
/// refuses when an event cannot be undone.
@Suite struct TodoRevertTests {
    let store = InMemoryEventStore()
    let codec = TodoEventCodec()
    let id = TodoID(UUID())

    func append(_ events: [Todo.Event]) async throws {
        let stream = Todo.stream(id)
        let version = try await store.version(of: stream)
        _ = try await store.append(
            try events.map {
                let e = try codec.encode($0); return NewEvent(id: UUID(), type: e.type, schemaVersion: e.schemaVersion, data: e.data)
            },
            to: stream, expecting: .exactly(version))
    }

    func state(through version: StreamVersion? = nil) async throws -> Todo.State {
        let events = try await store.read(Todo.stream(id), from: 1, direction: .forwards, limit: 1000)
        return Todo.fold(try events.filter { version == nil || $0.version <= version! }.map { try codec.decode($0) })
    }

    @Test func revertThenReadEqualsTheStateAtThatVersion() async throws {
        try await append([
            .added(Todo.Details(title: "Buy milk", dueDate: "2026-12-01")),
            .amended(Todo.Amendment(title: .set("Buy oat milk"), dueDate: .cleared, stakeholderEmail: .set("ada@example.com"))),
            .completed(completedOn: "2026-11-30"),
            .stakeholderNotifiedOfCompletion(notifiedOn: "2026-11-30"),
        ])
        let reverter = Reverter<Todo, TodoEventCodec>(store: store, codec: codec)
        let outcome = try await reverter.revert(Todo.stream(id), toVersion: 1)
        #expect(outcome.reverted && outcome.streamVersion == 6, "\(outcome)")
        #expect(try await state() == (try await state(through: 1)))
        // The mail is not recalled: nothing appended for it, and the answer says so.
        #expect(outcome.steps.first?.type == "StakeholderNotifiedOfTodoCompletion" && outcome.steps.first?.compensatedBy == [])
        #expect(outcome.steps.first?.note?.contains("does not recall") == true)
        // History is kept; each compensating event is caused by the event it reverses.
        let events = try await store.read(Todo.stream(id), from: 1, direction: .forwards, limit: 100)
        #expect(
            events.map(\.type) == [
                "TodoAdded", "TodoAmended", "TodoCompleted", "StakeholderNotifiedOfTodoCompletion", "TodoReopened", "TodoAmended",
            ])
        #expect(events[4].metadata.causationId == events[2].id && events[5].metadata.causationId == events[1].id)
        #expect(events[4].metadata.extra["reverts"] == events[2].id.lowercasedString)
    }

    @Test func anEventWithoutACompensationRefusesTheRevertAndNamesIt() async throws {
        try await append([.added(Todo.Details(title: "Call Bob")), .movedUp, .amended(Todo.Amendment(description: .set("about the car")))])
        let reverter = Reverter<Todo, TodoEventCodec>(store: store, codec: codec)
        let outcome = try await reverter.revert(Todo.stream(id), toVersion: 1)
        #expect(!outcome.reverted && outcome.refusals.map(\.type) == ["TodoMovedUp"], "\(outcome)")
        #expect(try await store.version(of: Todo.stream(id)) == 3, "nothing appended")
        // After the move up, the revert goes through.
        #expect(try await reverter.revert(Todo.stream(id), toVersion: 2).reverted)
        #expect(try await state().description == nil)
        await #expect(throws: RevertError.self) { try await reverter.revert(Todo.stream(id), toVersion: 0) }
        await #expect(throws: RevertError.self) { try await reverter.revert(Todo.stream(id), toVersion: 9) }
    }
}
