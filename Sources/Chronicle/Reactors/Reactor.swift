/// Handles events for their side effects (mail, calls to other systems, new commands) from its own
/// checkpoint, which a projection rebuild never resets.
///
/// A reactor must make each effect idempotent: record it before or with the checkpoint (an outbox row,
/// or an emitted event with a deterministic id) and give the receiver a stable key, so that a restart
/// between the effect and the checkpoint does not repeat it.
public protocol Reactor: Sendable {
    /// The reactor's unique, stable name (also the name of its checkpoint).
    var name: String { get }
    /// Reacts to one event. Throwing stops the reactor at this event (it is never skipped).
    func react(to event: RecordedEvent) async throws
}

/// Runs a ``Reactor`` as an ``EventConsumer``: reacts to each event of a batch in order, then records
/// the checkpoint once for the batch — or, when a reaction throws, at the last event fully reacted to.
/// A crash between a reaction and the checkpoint makes the reactor meet those events again, which its
/// idempotent effects (see ``Reactor``) already allow; one checkpoint write per batch instead of per
/// event keeps a reactor that ignores most events from writing for each of them.
public struct ReactorConsumer<R: Reactor>: EventConsumer {
    /// The reactor.
    public let reactor: R
    /// Where its checkpoint lives.
    public let checkpoints: any CheckpointStore

    /// Makes a consumer for `reactor` with checkpoints in `checkpoints`.
    public init(_ reactor: R, checkpoints: any CheckpointStore) {
        self.reactor = reactor
        self.checkpoints = checkpoints
    }

    public var name: String { reactor.name }

    public func checkpoint() async throws -> GlobalPosition {
        try await checkpoints.checkpoint(for: name)
    }

    public func consume(_ events: [RecordedEvent]) async throws {
        var reacted: GlobalPosition?
        do {
            for event in events {
                try await reactor.react(to: event)
                reacted = event.position
            }
        } catch {
            if let reacted { try await checkpoints.store(reacted, for: name) }
            throw error
        }
        if let reacted { try await checkpoints.store(reacted, for: name) }
    }
}
