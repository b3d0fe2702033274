import Foundation

/// The reference ``EventStore``: everything in memory, in one actor. For unit tests and examples;
/// it proves nothing about a real backend.
public actor InMemoryEventStore: EventStore {
    private var log: [RecordedEvent] = []
    private var streamIndex: [StreamName: [Int]] = [:]
    private var idIndex: [UUID: Int] = [:]
    private let now: @Sendable () -> Date
    /// Raised after each append.
    public nonisolated let appendSignal = PositionSignal()

    /// Makes an empty store; `now` stamps `recordedAt`.
    public init(now: @escaping @Sendable () -> Date = { Date() }) {
        self.now = now
    }

    public func append(_ events: [NewEvent], to stream: StreamName, expecting expected: ExpectedVersion) throws
        -> AppendResult
    {
        try AppendRules.validate(events, to: stream)
        var stored: [UUID: RecordedEvent] = [:]
        for event in events { if let i = idIndex[event.id] { stored[event.id] = log[i] } }
        if let result = try AppendRules.idempotentResult(for: events, to: stream, stored: stored) { return result }

        let actual = StreamVersion(streamIndex[stream]?.count ?? 0)
        if let last = streamIndex[stream]?.last, log[last].type == NewEvent.tombstoneType {
            throw EventStoreError.streamDeleted(stream: stream)
        }
        guard expected.isSatisfied(by: actual) else {
            throw EventStoreError.wrongExpectedVersion(stream: stream, expected: expected, actual: actual)
        }
        let recordedAt = now()
        for (offset, event) in events.enumerated() {
            let recorded = RecordedEvent(
                id: event.id, stream: stream, version: actual + Int64(offset) + 1,
                position: GlobalPosition(rawValue: Int64(log.count) + 1), type: event.type,
                schemaVersion: event.schemaVersion, data: event.data, metadata: event.metadata, recordedAt: recordedAt,
                contentType: event.contentType, customMetadata: event.customMetadata)
            idIndex[event.id] = log.count
            streamIndex[stream, default: []].append(log.count)
            log.append(recorded)
        }
        let last = GlobalPosition(rawValue: Int64(log.count))
        appendSignal.announce(last)
        return AppendResult(
            streamVersion: actual + Int64(events.count),
            firstPosition: GlobalPosition(rawValue: last.rawValue - Int64(events.count) + 1),
            lastPosition: last, wasAlreadyStored: false)
    }

    public func read(_ stream: StreamName, from version: StreamVersion, direction: ReadDirection, limit: Int) throws
        -> [RecordedEvent]
    {
        try AppendRules.validateRead(limit: limit, version: version)
        let indices = streamIndex[stream] ?? []
        switch direction {
        case .forwards:
            return indices.lazy.map { self.log[$0] }.filter { $0.version >= version }.prefix(limit).map { $0 }
        case .backwards:
            return indices.reversed().lazy.map { self.log[$0] }.filter { $0.version <= version }.prefix(limit).map { $0 }
        }
    }

    public func readAll(after position: GlobalPosition, limit: Int) throws -> [RecordedEvent] {
        try AppendRules.validateRead(limit: limit)
        let start = Int(clamping: max(position.rawValue, 0))
        guard start < log.count else { return [] }
        return Array(log[start..<min(log.count, start + limit)])
    }

    public func readCategory(_ category: String, after position: GlobalPosition, limit: Int) throws -> [RecordedEvent] {
        try AppendRules.validateRead(limit: limit)
        let start = Int(clamping: max(position.rawValue, 0))
        guard start < log.count else { return [] }
        return log[start...].lazy.filter { $0.stream.category == category }.prefix(limit).map { $0 }
    }

    public func version(of stream: StreamName) -> StreamVersion {
        StreamVersion(streamIndex[stream]?.count ?? 0)
    }

    public func streams(after name: StreamName?, limit: Int) throws -> [StreamInfo] {
        try AppendRules.validateRead(limit: limit)
        return streamIndex.keys.sorted().lazy
            .filter { stream in name.map { stream > $0 } ?? true }
            .prefix(limit)
            .compactMap { stream in
                guard let last = self.streamIndex[stream]?.last else { return nil }
                let event = self.log[last]
                return StreamInfo(name: stream, version: event.version, lastPosition: event.position, lastWrittenAt: event.recordedAt)
            }
    }

    public func event(id: UUID) -> RecordedEvent? {
        idIndex[id].map { log[$0] }
    }

    public func events(correlatedWith correlationId: UUID, limit: Int) throws -> [RecordedEvent] {
        try AppendRules.validateRead(limit: limit)
        return log.lazy.filter { $0.metadata.correlationId == correlationId }.prefix(limit).map { $0 }
    }

    public func headPosition() -> GlobalPosition {
        GlobalPosition(rawValue: Int64(log.count))
    }
}
