import Foundation
import Logging

/// The answer to a command: Accepted (events appended) or Rejected (the broken rule).
public enum CommandOutcome<Event: Sendable, Rejection: Error & Sendable>: Sendable {
    /// The command was accepted; `events` were appended (none for a no-op).
    case accepted(events: [Event], streamVersion: StreamVersion, position: GlobalPosition?)
    /// The command broke a rule; nothing was written.
    case rejected(Rejection)
}

/// Loads a stream, folds it, decides, and appends with the version it read.
///
/// On a concurrency conflict it reloads and decides again, up to `maxAttempts` times; then the
/// ``EventStoreError/wrongExpectedVersion(stream:expected:actual:)`` is thrown to the caller.
public struct CommandHandler<D: Decider, Codec: EventCodec>: Sendable
where Codec.Event == D.Event, D.Rejection: Sendable {
    /// Where the streams live.
    public let store: any EventStore
    /// How events are stored.
    public let codec: Codec
    /// How many times a command is decided at most when writers race (default 5).
    public var maxAttempts: Int
    /// Makes the id of each new event (default: random UUIDs).
    public var makeEventId: @Sendable () -> UUID
    /// How many events are read per page when loading a stream (default 1,000).
    public var pageSize: Int

    /// Makes a handler.
    public init(
        store: any EventStore, codec: Codec, maxAttempts: Int = 5, pageSize: Int = 1_000,
        makeEventId: @escaping @Sendable () -> UUID = { UUID() }
    ) {
        self.store = store
        self.codec = codec
        self.maxAttempts = max(1, maxAttempts)
        self.pageSize = max(1, pageSize)
        self.makeEventId = makeEventId
    }

    /// Loads `stream` and folds it: the state and the version it is at.
    public func load(_ stream: StreamName) async throws -> (state: D.State, version: StreamVersion) {
        var state = D.initialState
        var version: StreamVersion = 0
        while true {
            let page = try await store.read(stream, from: version + 1, direction: .forwards, limit: pageSize)
            for recorded in page {
                state = D.evolve(state, try codec.decode(recorded))
                version = recorded.version
            }
            if page.count < pageSize { return (state, version) }
        }
    }

    /// Decides `command` against `stream` and appends what it decided.
    public func handle(_ command: D.Command, on stream: StreamName, metadata: Metadata = Metadata()) async throws
        -> CommandOutcome<D.Event, D.Rejection>
    {
        var attempt = 1
        while true {
            let (state, version) = try await load(stream)
            let events: [D.Event]
            do {
                events = try D.decide(command, state)
            } catch {
                return .rejected(error)
            }
            if events.isEmpty { return .accepted(events: [], streamVersion: version, position: nil) }
            let newEvents = try events.map { event in
                let encoded = try codec.encode(event)
                return NewEvent(
                    id: makeEventId(), type: encoded.type, schemaVersion: encoded.schemaVersion, data: encoded.data,
                    metadata: metadata)
            }
            do {
                let result = try await store.append(newEvents, to: stream, expecting: .exactly(version))
                return .accepted(events: events, streamVersion: result.streamVersion, position: result.lastPosition)
            } catch EventStoreError.wrongExpectedVersion where attempt < maxAttempts {
                attempt += 1
            }
        }
    }
}
