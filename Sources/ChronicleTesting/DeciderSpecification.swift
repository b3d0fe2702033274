import Chronicle
import Testing

extension Decider {
    /// Starts a given/when/then specification from a history of events.
    public static func given(_ events: Event...) -> DeciderSpecification<Self> {
        DeciderSpecification(history: events)
    }

    /// Starts a given/when/then specification from a history of events.
    public static func given(_ events: [Event]) -> DeciderSpecification<Self> {
        DeciderSpecification(history: events)
    }
}

/// A decider with a history, waiting for its command.
public struct DeciderSpecification<D: Decider> {
    /// The events folded into the state before the command.
    public let history: [D.Event]

    /// Decides `command` against the folded history.
    public func when(_ command: D.Command) -> DeciderVerdict<D> {
        let state = D.fold(history)
        do {
            return DeciderVerdict(result: .success(try D.decide(command, state)), state: state)
        } catch {
            return DeciderVerdict(result: .failure(error), state: state)
        }
    }
}

/// What a decider decided, to be checked with `then` or `thenRejects`.
public struct DeciderVerdict<D: Decider> {
    /// The events decided, or the rejection.
    public let result: Result<[D.Event], D.Rejection>
    /// The state the command was decided against.
    public let state: D.State

    /// Expects the command to be accepted with exactly `expected` (none for a no-op).
    public func then(_ expected: D.Event..., sourceLocation: SourceLocation = #_sourceLocation) where D.Event: Equatable {
        switch result {
        case .success(let events):
            #expect(events == expected, "decided events", sourceLocation: sourceLocation)
        case .failure(let rejection):
            Issue.record("expected \(expected), but the command was rejected: \(rejection)", sourceLocation: sourceLocation)
        }
    }

    /// Expects the command to be rejected with `expected`.
    public func thenRejects(_ expected: D.Rejection, sourceLocation: SourceLocation = #_sourceLocation)
    where D.Rejection: Equatable {
        switch result {
        case .success(let events):
            Issue.record("expected rejection \(expected), but the command was accepted: \(events)", sourceLocation: sourceLocation)
        case .failure(let rejection):
            #expect(rejection == expected, "rejection", sourceLocation: sourceLocation)
        }
    }
}
