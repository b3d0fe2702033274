import Chronicle
import ChronicleTesting
import Foundation
import Synchronization
import Testing

/// A running total whose state is snapshotted every 2 events.
enum Till: Decider {
    struct State: Sendable, Codable, Equatable {
        var total: Int64 = 0
        var entries = 0
    }
    enum Command: Sendable { case add(Int64) }
    enum Event: Sendable, Equatable { case added(Int64) }
    enum Rejection: Error, Equatable { case notPositive, overLimit }
    /// The most a till holds.
    static let limit: Int64 = 1_000

    static let initialState = State()
    static func decide(_ command: Command, _ state: State) throws(Rejection) -> [Event] {
        switch command {
        case .add(let amount):
            guard amount > 0 else { throw .notPositive }
            guard state.total + amount <= limit else { throw .overLimit }
            return [.added(amount)]
        }
    }
    static func evolve(_ state: State, _ event: Event) -> State {
        switch event {
        case .added(let amount): State(total: state.total + amount, entries: state.entries + 1)
        }
    }
    static var snapshotPolicy: SnapshotPolicy<State>? { SnapshotPolicy(every: 2, schemaVersion: 3) }

    struct Codec: EventCodec {
        func encode(_ event: Event) throws -> EncodedEvent {
            switch event {
            case .added(let amount): EncodedEvent(type: "TillAdded", schemaVersion: 1, data: Data("{\"amount\":\(amount)}".utf8))
            }
        }
        func decode(_ encoded: EncodedEvent) throws -> Event {
            struct Body: Decodable { var amount: Int64 }
            guard encoded.type == "TillAdded" else { throw CodecError.unknownType(encoded.type) }
            return .added(try JSONDecoder().decode(Body.self, from: encoded.data).amount)
        }
    }
}

/// Counts the events stream reads hand out, to see how much of a stream loading read.
final class ReadCounter: EventStore {
    let base = InMemoryEventStore()
    let eventsRead = Atomic<Int>(0)
    func append(_ events: [NewEvent], to stream: StreamName, expecting expected: ExpectedVersion) async throws -> AppendResult {
        try await base.append(events, to: stream, expecting: expected)
    }
    func read(_ stream: StreamName, from version: StreamVersion, direction: ReadDirection, limit: Int) async throws -> [RecordedEvent] {
        let events = try await base.read(stream, from: version, direction: direction, limit: limit)
        eventsRead.add(events.count, ordering: .relaxed)
        return events
    }
    func readAll(after position: GlobalPosition, limit: Int) async throws -> [RecordedEvent] { try await base.readAll(after: position, limit: limit) }
    func readCategory(_ category: String, after position: GlobalPosition, limit: Int) async throws -> [RecordedEvent] {
        try await base.readCategory(category, after: position, limit: limit)
    }
    func version(of stream: StreamName) async throws -> StreamVersion { try await base.version(of: stream) }
    func streams(after name: StreamName?, limit: Int) async throws -> [StreamInfo] { try await base.streams(after: name, limit: limit) }
    func event(id: UUID) async throws -> RecordedEvent? { try await base.event(id: id) }
    func events(correlatedWith correlationId: UUID, limit: Int) async throws -> [RecordedEvent] {
        try await base.events(correlatedWith: correlationId, limit: limit)
    }
    func headPosition() async throws -> GlobalPosition { try await base.headPosition() }
    var appendSignal: PositionSignal { base.appendSignal }
}

@Suite struct SnapshotTests {
    @Test func theInMemoryStoreKeepsTheContract() async throws {
        try await SnapshotStoreContract.run(InMemorySnapshotStore())
    }

    private var till: StreamName { StreamName(storedName: "till-1") }

    private func handler(_ store: ReadCounter, _ snapshots: InMemorySnapshotStore?) -> CommandHandler<Till, Till.Codec> {
        CommandHandler(store: store, codec: Till.Codec(), snapshots: snapshots)
    }

    private func add(_ amounts: [Int64], with handler: CommandHandler<Till, Till.Codec>) async throws {
        for amount in amounts {
            guard case .accepted = try await handler.handle(.add(amount), on: till) else { throw Till.Rejection.notPositive }
        }
    }

    /// Every 2 events a snapshot is saved; loading starts from the latest and reads only what follows.
    @Test func loadingStartsFromTheLatestSnapshot() async throws {
        let store = ReadCounter()
        let snapshots = InMemorySnapshotStore()
        try await add([260, 40, 30, 5, 7], with: handler(store, snapshots))
        let kept = try #require(snapshots.latestSnapshot(of: till))
        #expect(kept.version == 4)
        #expect(kept.schemaVersion == 3)
        #expect(try JSONDecoder().decode(Till.State.self, from: kept.data) == Till.State(total: 335, entries: 4))
        store.eventsRead.store(0, ordering: .relaxed)
        let (state, version) = try await handler(store, snapshots).load(till)
        #expect(state == Till.State(total: 342, entries: 5))
        #expect(version == 5)
        #expect(store.eventsRead.load(ordering: .relaxed) == 1)
    }

    /// Snapshots are a cache: deleting them, or one of an older schema, or an undecodable one, changes no
    /// answer (the stream is folded from its events).
    @Test func aMissingOldOrBrokenSnapshotChangesNoAnswer() async throws {
        let store = ReadCounter()
        let snapshots = InMemorySnapshotStore()
        try await add([260, 40, 30], with: handler(store, snapshots))
        let expected = (Till.State(total: 330, entries: 3), StreamVersion(3))
        func loaded() async throws -> (Till.State, StreamVersion) { try await handler(store, snapshots).load(till) }

        // An older schema's snapshot at the head, whose bytes would decode into a wrong state.
        let wrong = try JSONEncoder().encode(Till.State(total: 999, entries: 3))
        snapshots.save(Snapshot(stream: till, version: 3, schemaVersion: 2, data: wrong))
        #expect(try await loaded() == expected)
        // The right schema, but bytes that do not decode.
        snapshots.save(Snapshot(stream: till, version: 3, schemaVersion: 3, data: Data("not a state".utf8)))
        #expect(try await loaded() == expected)
        snapshots.deleteAllSnapshots()
        #expect(try await loaded() == expected)
        #expect(try await handler(store, nil).load(till) == expected)
        // Commands go on as before, and snapshots come back.
        try await add([10], with: handler(store, snapshots))
        #expect(try await loaded() == (Till.State(total: 340, entries: 4), 4))
        #expect(snapshots.latestSnapshot(of: till)?.version == 4)
    }
}
