import Synchronization

/// Anything that follows the global log from its own checkpoint: a projection, a reactor, a process manager.
public protocol EventConsumer: Sendable {
    /// The consumer's unique, stable name (also the name of its checkpoint).
    var name: String { get }
    /// Where the consumer stands: the position of the last event it has taken in.
    func checkpoint() async throws -> GlobalPosition
    /// Takes in `events` (in order, all after the checkpoint) and records the checkpoint of the last one.
    /// If it throws, the checkpoint must not be past the last event fully taken in.
    func consume(_ events: [RecordedEvent]) async throws
    /// Called when a read of the log found nothing new (every poll interval at most): time-driven work,
    /// such as a process manager's deadlines falling due. Nothing by default.
    func idle() async throws
}

extension EventConsumer {
    public func idle() async throws {}
}

/// A read model folded from events.
///
/// Where the read model lives in the same database as its checkpoint, `consume` updates both in one
/// transaction, so that a crash never applies an event twice or skips one. Rebuilding (``reset()`` then
/// reading from the start) never runs a reactor.
public protocol Projection: EventConsumer {
    /// Creates what the read model needs (its tables) if missing; called before the projection runs.
    func prepare() async throws
    /// Drops the read model and its checkpoint, so that it is rebuilt from the start of the log.
    func reset() async throws
}

extension Projection {
    /// Nothing to create.
    public func prepare() async throws {}

    /// The projection, prepared.
    public func prepared() async throws -> Self {
        try await prepare()
        return self
    }
}

/// A projection whose read model is a value in memory; state and checkpoint change together.
public final class InMemoryProjection<State: Sendable>: Projection {
    public let name: String
    private let initial: State
    private let evolve: @Sendable (State, RecordedEvent) throws -> State
    private let current: Mutex<(state: State, checkpoint: GlobalPosition)>

    /// Makes a projection named `name` that folds events into `initial` with `evolve`.
    public init(name: String, initial: State, evolve: @escaping @Sendable (State, RecordedEvent) throws -> State) {
        self.name = name
        self.initial = initial
        self.evolve = evolve
        self.current = Mutex((initial, .start))
    }

    /// The read model now.
    public var state: State { current.withLock { $0.state } }

    public func checkpoint() -> GlobalPosition { current.withLock { $0.checkpoint } }

    public func consume(_ events: [RecordedEvent]) throws {
        try current.withLock { current in
            var state = current.state
            for event in events { state = try evolve(state, event) }
            if let last = events.last { current = (state, last.position) }
        }
    }

    public func reset() {
        current.withLock { $0 = (initial, .start) }
    }
}
