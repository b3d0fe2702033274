import Foundation

/// An append-only store of event streams with one gap-free global order.
///
/// Contract every backend keeps (and `ChronicleTesting`'s contract suite checks):
/// - `append` writes the whole batch or nothing, after checking `expected` against the stream's
///   version inside the same atomic step; exactly one of several concurrent writers expecting the
///   same version wins, the others get ``EventStoreError/wrongExpectedVersion(stream:expected:actual:)``.
/// - Re-sending an already stored batch (same ids, same content) succeeds, writes nothing and answers
///   the original result. An id already stored for different content is an error, never a silent drop.
/// - Global positions start at 1, have no gaps and follow commit order: a reader that has seen position
///   p never later finds a committed event below p.
/// - `appendSignal` is only a wake-up hint; readers always read by position.
public protocol EventStore: Sendable {
    /// Appends `events` to `stream` if its version satisfies `expected`; all or nothing.
    func append(_ events: [NewEvent], to stream: StreamName, expecting expected: ExpectedVersion) async throws
        -> AppendResult

    /// Reads up to `limit` events of `stream` starting at version `from` (inclusive): upwards when
    /// forwards, downwards when backwards (pass `StreamVersion.max` to start at the newest).
    func read(_ stream: StreamName, from version: StreamVersion, direction: ReadDirection, limit: Int) async throws
        -> [RecordedEvent]

    /// Reads up to `limit` events of the global log with a position above `position`, in order.
    func readAll(after position: GlobalPosition, limit: Int) async throws -> [RecordedEvent]

    /// Reads up to `limit` events of every stream of `category` with a position above `position`, in order.
    func readCategory(_ category: String, after position: GlobalPosition, limit: Int) async throws -> [RecordedEvent]

    /// The stream's current version: 0 when it does not exist.
    func version(of stream: StreamName) async throws -> StreamVersion

    /// Up to `limit` streams ordered by name, starting after `name` (nil: from the first).
    func streams(after name: StreamName?, limit: Int) async throws -> [StreamInfo]

    /// The event with this id, if stored.
    func event(id: UUID) async throws -> RecordedEvent?

    /// Up to `limit` events whose metadata carries `correlationId`, in log order: one conversation.
    func events(correlatedWith correlationId: UUID, limit: Int) async throws -> [RecordedEvent]

    /// The position of the newest committed event (``GlobalPosition/start`` when the log is empty).
    func headPosition() async throws -> GlobalPosition

    /// Raised after each commit made through this instance; a hint for live readers, never a source of events.
    var appendSignal: PositionSignal { get }
}

/// What an append wrote (or, for an idempotent re-send, what the first send wrote).
public struct AppendResult: Hashable, Sendable, Codable {
    /// The stream's version after the batch.
    public var streamVersion: StreamVersion
    /// The global position of the batch's first event.
    public var firstPosition: GlobalPosition
    /// The global position of the batch's last event.
    public var lastPosition: GlobalPosition
    /// True when the batch had been stored before and nothing was written now.
    public var wasAlreadyStored: Bool

    /// Makes an append result.
    public init(streamVersion: StreamVersion, firstPosition: GlobalPosition, lastPosition: GlobalPosition, wasAlreadyStored: Bool) {
        self.streamVersion = streamVersion
        self.firstPosition = firstPosition
        self.lastPosition = lastPosition
        self.wasAlreadyStored = wasAlreadyStored
    }
}

/// One stream as listed by ``EventStore/streams(after:limit:)``.
public struct StreamInfo: Hashable, Sendable {
    /// The stream's name.
    public var name: StreamName
    /// Its version (number of events).
    public var version: StreamVersion
    /// The global position of its newest event.
    public var lastPosition: GlobalPosition
    /// When its newest event was recorded.
    public var lastWrittenAt: Date

    /// Makes a stream listing row.
    public init(name: StreamName, version: StreamVersion, lastPosition: GlobalPosition, lastWrittenAt: Date) {
        self.name = name
        self.version = version
        self.lastPosition = lastPosition
        self.lastWrittenAt = lastWrittenAt
    }
}

/// The checks every backend makes before an append, kept in one place so that backends agree.
public enum AppendRules {
    /// Refuses an empty batch or one that repeats an id.
    public static func validate(_ events: [NewEvent], to stream: StreamName) throws(EventStoreError) {
        guard !events.isEmpty else { throw .emptyBatch(stream: stream) }
        var seen = Set<UUID>()
        for event in events where !seen.insert(event.id).inserted { throw .duplicateIdInBatch(id: event.id) }
    }

    /// Decides what to do with a batch some of whose ids may be stored already.
    ///
    /// - Returns: nil when none is stored (append it); the original result when exactly this batch was
    ///   stored before (write nothing).
    /// - Throws: ``EventStoreError/eventIdReused(id:stream:)`` when a stored id holds a different event or
    ///   another stream; ``EventStoreError/partiallyStoredBatch(stream:)`` when only part of it is stored.
    public static func idempotentResult(
        for events: [NewEvent], to stream: StreamName, stored: [UUID: RecordedEvent]
    ) throws(EventStoreError) -> AppendResult? {
        if stored.isEmpty { return nil }
        for event in events {
            guard let existing = stored[event.id] else { continue }
            guard existing.stream == stream, existing.isSameEvent(as: event) else {
                throw .eventIdReused(id: event.id, stream: stream)
            }
        }
        guard stored.count == events.count, let first = stored[events[0].id] else {
            throw .partiallyStoredBatch(stream: stream)
        }
        var last = first
        for (offset, event) in events.enumerated() {
            guard let existing = stored[event.id], existing.version == first.version + Int64(offset) else {
                throw .partiallyStoredBatch(stream: stream)
            }
            last = existing
        }
        return AppendResult(
            streamVersion: last.version, firstPosition: first.position, lastPosition: last.position, wasAlreadyStored: true)
    }

    /// Refuses a read with a limit below 1 or a negative version.
    public static func validateRead(limit: Int, version: StreamVersion = 0) throws(EventStoreError) {
        guard limit >= 1 else { throw .invalidRead("limit must be at least 1, was \(limit)") }
        guard version >= 0 else { throw .invalidRead("version must not be negative, was \(version)") }
    }
}

extension EventStore {
    /// The position of the last event recorded at or before `time` (``GlobalPosition/start`` when none
    /// was): a binary search over the log, one event read per step. Recorded times follow positions
    /// (each store stamps a commit as it makes it); where a clock stepped back, the answer is one of the
    /// positions around that time.
    public func position(at time: Date) async throws -> GlobalPosition {
        var (low, high) = (Int64(0), try await headPosition().rawValue)
        while low < high {
            let middle = low + (high - low + 1) / 2
            guard let event = try await readAll(after: GlobalPosition(rawValue: middle - 1), limit: 1).first else { break }
            if event.recordedAt <= time { low = middle } else { high = middle - 1 }
        }
        return GlobalPosition(rawValue: low)
    }
}

extension EventStore {
    /// Up to `limit` events of the global log with a position below `position`, newest first. The log has
    /// no gaps, so these are the positions just below `position` (or below the head): one forward read of
    /// that window.
    public func readAll(before position: GlobalPosition, limit: Int) async throws -> [RecordedEvent] {
        try AppendRules.validateRead(limit: limit)
        var end = position.rawValue - 1
        guard end >= 1 else { return [] }
        let head = try await headPosition().rawValue
        if end > head { end = head }
        let from = max(end - Int64(limit), 0)
        return try await readAll(after: GlobalPosition(rawValue: from), limit: Int(end - from))
            .filter { $0.position < position }.reversed()
    }
}
