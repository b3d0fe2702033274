/// Runs a ``SQLReadModel`` as a ``Projection`` on any backend's ``SubscriptionStorage``: each batch's
/// statements and its checkpoint commit in one transaction (fenced by ownership where the backend has
/// it), and only events past the stored checkpoint are applied — a crash, or a second runner, never
/// applies an event twice or skips one. The one implementation of that rule for read models.
public final class SQLProjection<Model: SQLReadModel>: Projection {
    /// The read model.
    public let model: Model
    /// Where its tables and checkpoint live.
    public let storage: any SubscriptionStorage

    /// Makes the projection; ``prepare()`` creates its tables.
    public init(_ model: Model, storage: any SubscriptionStorage) {
        self.model = model
        self.storage = storage
    }

    public var name: String { model.name }

    /// Creates the read model's tables if they are missing.
    public func prepare() async throws { try await storage.prepare(model.createStatements) }

    public func checkpoint() async throws -> GlobalPosition { try await storage.checkpoint(for: name) }

    public func consume(_ events: [RecordedEvent]) async throws {
        let writes = try events.map { SubscriptionWrite(position: $0.position, statements: try model.statements(for: $0)) }
        try await storage.commit(writes, checkpointFor: name)
    }

    public func reset() async throws {
        try await storage.execute(
            model.dropStatements + model.createStatements + [SQLStatement("DELETE FROM checkpoints WHERE name = ?", [.text(name)])], for: name)
    }
}
