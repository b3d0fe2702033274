import Synchronization

/// Where a subscription records how far it has read. Each subscriber has its own checkpoint.
public protocol CheckpointStore: Sendable {
    /// The subscriber's checkpoint; ``GlobalPosition/start`` when it has none.
    func checkpoint(for subscriber: String) async throws -> GlobalPosition
    /// Records the subscriber's checkpoint.
    func store(_ position: GlobalPosition, for subscriber: String) async throws
    /// Forgets the subscriber's checkpoint (a rebuild starts again from the start).
    func reset(_ subscriber: String) async throws
}

/// Checkpoints in memory, for unit tests and examples.
public final class InMemoryCheckpointStore: CheckpointStore {
    private let positions = Mutex<[String: GlobalPosition]>([:])

    /// Makes an empty checkpoint store.
    public init() {}

    public func checkpoint(for subscriber: String) -> GlobalPosition {
        positions.withLock { $0[subscriber] ?? .start }
    }

    public func store(_ position: GlobalPosition, for subscriber: String) {
        positions.withLock { $0[subscriber] = position }
    }

    public func reset(_ subscriber: String) {
        _ = positions.withLock { $0.removeValue(forKey: subscriber) }
    }
}
