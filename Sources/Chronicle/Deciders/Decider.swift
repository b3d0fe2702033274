/// A pure decision model: the state folded from past events decides what a command makes happen.
///
/// `decide` answers the events to append (`[]` for a no-op) or throws the broken rule; `evolve` folds
/// one event into the state and never fails, so that replaying history always succeeds. Neither reads
/// the clock or makes ids: those come in inside the command.
public protocol Decider {
    /// What the decider knows of one stream.
    associatedtype State: Sendable
    /// What can be asked.
    associatedtype Command: Sendable
    /// What can have happened.
    associatedtype Event: Sendable
    /// Why a command was refused.
    associatedtype Rejection: Error

    /// The state of a stream with no events.
    static var initialState: State { get }
    /// The events `command` makes happen in `state`, or the rule it breaks.
    static func decide(_ command: Command, _ state: State) throws(Rejection) -> [Event]
    /// The state after `event`.
    static func evolve(_ state: State, _ event: Event) -> State
    /// When and how to snapshot a stream's state (``CommandHandler`` saves and uses them when it has a
    /// ``SnapshotStore``); nil (the default) for none.
    static var snapshotPolicy: SnapshotPolicy<State>? { get }
}

extension Decider {
    /// No snapshots.
    public static var snapshotPolicy: SnapshotPolicy<State>? { nil }

    /// Folds `events` from the initial state.
    public static func fold(_ events: some Sequence<Event>) -> State {
        events.reduce(initialState, evolve)
    }
}
