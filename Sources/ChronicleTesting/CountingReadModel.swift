import Chronicle
import Testing

/// A read model for backend tests: counts events per type in a table named after the projection, and
/// throws at events of the type `failOn` (a poison event).
public struct CountingReadModel: SQLReadModel {
    public let name: String
    /// The event type the model cannot apply; nil: none.
    public let failOn: String?

    /// A model named (and storing its table as) `name`, failing on `failOn`.
    public init(name: String = "type_counts", failOn: String? = nil) {
        self.name = name
        self.failOn = failOn
    }

    public var createStatements: [SQLStatement] {
        [SQLStatement("CREATE TABLE IF NOT EXISTS \(name) (type TEXT PRIMARY KEY, count INTEGER NOT NULL)")]
    }

    public var dropStatements: [SQLStatement] { [SQLStatement("DROP TABLE IF EXISTS \(name)")] }

    public func statements(for event: RecordedEvent) throws -> [SQLStatement] {
        if event.type == failOn { throw CodecError.unknownType(event.type) }
        return [
            SQLStatement(
                "INSERT INTO \(name) VALUES (?, 1) ON CONFLICT (type) DO UPDATE SET count = \(name).count + 1",
                [.text(event.type)])
        ]
    }

    /// The statement that reads the counts back.
    public var query: SQLStatement { SQLStatement("SELECT type, count FROM \(name) ORDER BY type") }

    /// The counts as `rows` (from ``query``) hold them.
    public static func counts(_ rows: [SQLRow]) -> [String: Int64] {
        var counts: [String: Int64] = [:]
        for row in rows { if let type = row["type"]?.text, let count = row["count"]?.integer { counts[type] = count } }
        return counts
    }
}

/// Rules every SQL backend's projections keep, run against a backend through its factories.
public enum SQLProjectionContract {
    /// Rebuilding one projection resets its own table and checkpoint, and nobody else's: not another
    /// projection's, and never a reactor's (whose effects must not repeat).
    /// - Parameters:
    ///   - store: an empty store on the backend's database.
    ///   - checkpoints: the backend's checkpoint store on that database.
    ///   - projection: makes the backend's projection of a model (creating its table).
    ///   - rows: runs a query on the backend's database.
    public static func resettingOneLeavesEveryOtherCheckpoint(
        store: any EventStore, checkpoints: any CheckpointStore,
        projection: (CountingReadModel) async throws -> any Projection,
        rows: (SQLStatement) async throws -> [SQLRow],
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        _ = try await store.append([StoreContract.event("A"), StoreContract.event("B")], to: StreamName("thing-1"), expecting: .any)
        let events = try await store.readAll(after: .start, limit: 10)
        let (modelA, modelB) = (CountingReadModel(name: "counts_a"), CountingReadModel(name: "counts_b"))
        let a = try await projection(modelA)
        let b = try await projection(modelB)
        try await a.consume(events)
        try await b.consume(events)
        try await checkpoints.store(2, for: "some_reactor")
        try await a.reset()
        #expect(try await a.checkpoint() == .start, sourceLocation: sourceLocation)
        #expect(try await b.checkpoint() == 2, sourceLocation: sourceLocation)
        #expect(try await checkpoints.checkpoint(for: "some_reactor") == 2, sourceLocation: sourceLocation)
        #expect(CountingReadModel.counts(try await rows(modelB.query)) == ["A": 1, "B": 1], sourceLocation: sourceLocation)
    }
}

extension SQLProjectionContract {
    /// A replica is swapped in for the live read model only once it has read at least as far; the swap
    /// moves rows and checkpoint together (nothing applied twice after it), leaves the live read model
    /// alone until then, and leaves every other checkpoint (a reactor's) alone.
    /// - Parameters:
    ///   - store: an empty store on the backend's database.
    ///   - checkpoints: the backend's checkpoint store on that database.
    ///   - projection: makes the backend's projection of a model (creating its table).
    ///   - replica: makes the backend's replica rebuilding a model.
    ///   - rows: runs a query on the backend's database (the live read models).
    public static func aReplicaIsSwappedInOnlyOnceCaughtUp(
        store: any EventStore, checkpoints: any CheckpointStore,
        projection: (CountingReadModel) async throws -> any Projection,
        replica: (CountingReadModel) async throws -> any ReadModelReplica,
        rows: (SQLStatement) async throws -> [SQLRow],
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        _ = try await store.append(
            ["A", "B", "C", "A"].map { StoreContract.event($0) }, to: StreamName("thing-1"), expecting: .any)
        let events = try await store.readAll(after: .start, limit: 10)
        let model = CountingReadModel(name: "counts_live")
        let live = try await projection(model)
        try await live.consume(Array(events.prefix(3)))
        try await checkpoints.store(2, for: "some_reactor")

        let rebuilt = try await replica(model)
        try await rebuilt.consume(Array(events.prefix(2)))
        // Behind the live read model: refused, and the live one is as it was.
        await #expect(throws: ReplicaError.behind(live: 3, replica: 2), sourceLocation: sourceLocation) { try await rebuilt.promote() }
        #expect(CountingReadModel.counts(try await rows(model.query)) == ["A": 1, "B": 1, "C": 1], sourceLocation: sourceLocation)
        #expect(try await live.checkpoint() == 3, sourceLocation: sourceLocation)

        try await rebuilt.consume(events)
        #expect(CountingReadModel.counts(try await rebuilt.rows(model.query)) == ["A": 2, "B": 1, "C": 1], sourceLocation: sourceLocation)
        #expect(CountingReadModel.counts(try await rows(model.query)) == ["A": 1, "B": 1, "C": 1], sourceLocation: sourceLocation)
        try await rebuilt.promote()
        await rebuilt.discard()
        #expect(CountingReadModel.counts(try await rows(model.query)) == ["A": 2, "B": 1, "C": 1], sourceLocation: sourceLocation)
        #expect(try await live.checkpoint() == 4, sourceLocation: sourceLocation)
        // The live projection, still handed the events it had not read, applies none of them twice.
        try await live.consume(events)
        #expect(CountingReadModel.counts(try await rows(model.query)) == ["A": 2, "B": 1, "C": 1], sourceLocation: sourceLocation)
        #expect(try await checkpoints.checkpoint(for: "some_reactor") == 2, sourceLocation: sourceLocation)
    }
}
