import Chronicle
import Foundation
import Synchronization

/// Wraps a store and, before each of the first `interferences` appends, lets "another writer" append
/// to the same stream, so that the caller's expected version is stale.
final class InterferingStore: EventStore {
    let base: InMemoryEventStore
    let remaining: Mutex<Int>
    let appendAttempts = Atomic<Int>(0)
    let step: Int

    init(base: InMemoryEventStore, interferences: Int, step: Int = 8) {
        self.base = base
        self.remaining = Mutex(interferences)
        self.step = step
    }

    var appendSignal: PositionSignal { base.appendSignal }

    func append(_ events: [NewEvent], to stream: StreamName, expecting expected: ExpectedVersion) async throws -> AppendResult {
        appendAttempts.add(1, ordering: .relaxed)
        let interfere = remaining.withLock { r in
            defer { r -= 1 }
            return r > 0
        }
        if interfere {
            let rival = try Counter.Codec().encode(.incremented(by: step))
            _ = try await base.append(
                [NewEvent(id: UUID(), type: rival.type, schemaVersion: rival.schemaVersion, data: rival.data)], to: stream,
                expecting: .any)
        }
        return try await base.append(events, to: stream, expecting: expected)
    }

    func read(_ stream: StreamName, from version: StreamVersion, direction: ReadDirection, limit: Int) async throws -> [RecordedEvent] {
        try await base.read(stream, from: version, direction: direction, limit: limit)
    }
    func readAll(after position: GlobalPosition, limit: Int) async throws -> [RecordedEvent] {
        try await base.readAll(after: position, limit: limit)
    }
    func readCategory(_ category: String, after position: GlobalPosition, limit: Int) async throws -> [RecordedEvent] {
        try await base.readCategory(category, after: position, limit: limit)
    }
    func version(of stream: StreamName) async throws -> StreamVersion { await base.version(of: stream) }
    func streams(after name: StreamName?, limit: Int) async throws -> [StreamInfo] { try await base.streams(after: name, limit: limit) }
    func headPosition() async throws -> GlobalPosition { await base.headPosition() }
    func event(id: UUID) async throws -> RecordedEvent? { await base.event(id: id) }
    func events(correlatedWith correlationId: UUID, limit: Int) async throws -> [RecordedEvent] {
        try await base.events(correlatedWith: correlationId, limit: limit)
    }
}
