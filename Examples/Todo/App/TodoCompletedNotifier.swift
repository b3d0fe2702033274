import ChronicleRuntime
import Chronicle
import Foundation
import TodoDomain

/// When a todo with a stakeholder email is completed, mails the stakeholder and records
/// `StakeholderNotifiedOfTodoCompletion` in the todo's stream, caused by the `TodoCompleted` event.
///
/// Exactly once across restarts and crashes: the mail's id and the recorded event's id are derived from
/// the `TodoCompleted` event's id, the mailbox drops a repeated mail id, and the store drops a repeated
/// event id. A crash between sending and checkpointing replays the event and repeats nothing. A projection
/// rebuild never runs this reactor: it has its own checkpoint.
public struct TodoCompletedNotifier: Reactor {
    public let name = "todo_completed_notifier"
    /// Where todo streams are read and the notification is recorded.
    public let store: any EventStore
    /// Where the mail goes.
    public let mailSink: any MailSink
    private let codec = TodoEventCodec()

    /// Makes the notifier.
    public init(store: any EventStore, mailSink: any MailSink) {
        self.store = store
        self.mailSink = mailSink
    }

    public func react(to event: RecordedEvent) async throws {
        guard event.stream.category == Todo.category.name, event.type == Todo.Event.CodingKeys.completed.stringValue else { return }
        // A completion appended by a revert restores one the stakeholder heard of already: no mail.
        guard event.metadata.extra["reverts"] == nil else { return }
        let recordId = event.id.derived(salt: 0x4e)
        // The todo as it was when completed.
        let history = try await store.read(event.stream, from: 1, direction: .forwards, limit: Int(event.version))
        let todo = Todo.fold(try history.map { try codec.decode($0) })
        guard let email = todo.stakeholderEmail, !email.isEmpty else { return }
        // Already recorded (a crash after recording, before the checkpoint): nothing left to do.
        let later = try await store.read(event.stream, from: event.version + 1, direction: .forwards, limit: 10_000)
        if later.contains(where: { $0.id == recordId }) { return }

        let mail = Mail(
            id: event.id.derived(salt: 0x6d), to: email, subject: "Todo completed",
            body: "Your todo item \(todo.title ?? "") has been completed!")
        let deliveredOn = try await mailSink.deliver(mail)
        let notified = try codec.encode(.stakeholderNotifiedOfCompletion(notifiedOn: deliveredOn))
        _ = try await store.append(
            [NewEvent(id: recordId, type: notified.type, schemaVersion: notified.schemaVersion, data: notified.data, metadata: .causedBy(event))],
            to: event.stream, expecting: .any)
    }
}
