import Foundation
import Synchronization

/// An ``EventStore`` whose log reads are shared: subscriptions that ask for the same part of the log at
/// the same time (every read model woken by one append, each reading after the same checkpoint) are
/// answered from one read and one decoding of the rows, instead of one each. Everything else goes to the
/// store underneath.
///
/// A read is shared only while it is as fresh as a new one would be: no append has been signalled since
/// it began (``EventStore/appendSignal``), so it holds every event this process has committed, and it
/// is younger than ``maxAge``, which bounds how long an append made by another process can go unseen.
public final class SharedLogReads: EventStore {
    /// The store that holds the log.
    public let base: any EventStore
    /// The oldest a read may be and still be shared.
    public let maxAge: Duration
    private let recent = Mutex<[SharedRead]>([])
    private let baseReads = Atomic<Int>(0)
    private let clock = ContinuousClock()

    /// How many recent reads are kept for sharing (each at most a batch of events).
    static let kept = 8

    /// Shares the log reads made through it on `base` for at most `maxAge` each.
    public init(_ base: any EventStore, maxAge: Duration = .milliseconds(100)) {
        self.base = base
        self.maxAge = maxAge
    }

    /// How many log reads went to the store underneath (the others were shared).
    public var readsFromStore: Int { baseReads.load(ordering: .relaxed) }

    public func readAll(after position: GlobalPosition, limit: Int) async throws -> [RecordedEvent] {
        let now = clock.now
        let signalled = base.appendSignal.latest
        let read = recent.withLock { recent in
            recent.removeAll { $0.signalled != signalled || $0.began.duration(to: now) > maxAge }
            if let earlier = recent.first(where: { $0.after == position && $0.limit >= limit }) { return earlier.events }
            // Read the signal before the log (above): an append after it is either in this read or
            // changes the signal, which retires the read.
            let read = Task { [base] in try await base.readAll(after: position, limit: limit) }
            recent.append(SharedRead(after: position, limit: limit, signalled: signalled, began: now, events: read))
            if recent.count > Self.kept { recent.removeFirst(recent.count - Self.kept) }
            baseReads.add(1, ordering: .relaxed)
            return read
        }
        do {
            let events = try await read.value
            return events.count > limit ? Array(events.prefix(limit)) : events
        } catch {
            recent.withLock { $0.removeAll { $0.events == read } }
            throw error
        }
    }

    public func append(_ events: [NewEvent], to stream: StreamName, expecting expected: ExpectedVersion) async throws
        -> AppendResult
    {
        try await base.append(events, to: stream, expecting: expected)
    }

    public func read(_ stream: StreamName, from version: StreamVersion, direction: ReadDirection, limit: Int) async throws
        -> [RecordedEvent]
    {
        try await base.read(stream, from: version, direction: direction, limit: limit)
    }

    public func readCategory(_ category: String, after position: GlobalPosition, limit: Int) async throws -> [RecordedEvent] {
        try await base.readCategory(category, after: position, limit: limit)
    }

    public func version(of stream: StreamName) async throws -> StreamVersion { try await base.version(of: stream) }

    public func streams(after name: StreamName?, limit: Int) async throws -> [StreamInfo] {
        try await base.streams(after: name, limit: limit)
    }

    public func event(id: UUID) async throws -> RecordedEvent? { try await base.event(id: id) }

    public func events(correlatedWith correlationId: UUID, limit: Int) async throws -> [RecordedEvent] {
        try await base.events(correlatedWith: correlationId, limit: limit)
    }

    public func headPosition() async throws -> GlobalPosition { try await base.headPosition() }

    public var appendSignal: PositionSignal { base.appendSignal }
}

/// A read of the log after `after`, up to `limit` events, begun at `began` when the append signal stood
/// at `signalled`; shared while both still hold.
private struct SharedRead: Sendable {
    let after: GlobalPosition
    let limit: Int
    let signalled: GlobalPosition
    let began: ContinuousClock.Instant
    let events: Task<[RecordedEvent], any Error>
}
