import Foundation
import Synchronization

/// How one event is undone, as its domain declares it.
public enum Compensation<Event: Sendable>: Sendable {
    /// Append these events (in order) to undo it.
    case events([Event])
    /// Nothing to append: the event recorded an effect already done outside (a mail sent), which a
    /// revert does not recall. The reason says so.
    case nothing(reason: String)
    /// It cannot be undone; the reason says why.
    case impossible(reason: String)
}

/// A decider whose events can be undone by compensating events ("reverse events"): history is never
/// deleted or rewritten, new events bring the state back.
public protocol Compensating: Decider where State: Equatable {
    /// How to undo `event`, given the state just before it (what to bring back) and the stream's state
    /// now, with the later events already undone (what there is to take from).
    static func compensation(for event: Event, before: State, now: State) -> Compensation<Event>
}

/// What reverting a stream came to.
public struct RevertOutcome: Sendable, Equatable {
    /// One event after the target version, and what the revert did with it.
    public struct Step: Sendable, Equatable {
        /// The reversed event's version and stored type.
        public var version: StreamVersion
        public var type: String
        /// The stored types of the compensating events appended for it (empty for none).
        public var compensatedBy: [String]
        /// Why nothing was appended, or why it cannot be undone.
        public var note: String?
        /// Whether this event cannot be undone (the revert is refused).
        public var refused = false
    }

    /// Whether the compensating events were appended (false: refused, nothing written).
    public var reverted: Bool
    /// Each event after the target version, newest first.
    public var steps: [Step]
    /// The stream's version afterwards.
    public var streamVersion: StreamVersion
    /// The position of the last event appended (nil when nothing was).
    public var position: Int64?

    /// The events that cannot be undone, for a refusal's message.
    public var refusals: [Step] { steps.filter(\.refused) }
}

/// Why a revert could not even be tried.
public enum RevertError: Error, Equatable, CustomStringConvertible {
    /// No events at all in the stream.
    case unknownStream(String)
    /// The target is not a version the stream had: below 1 or beyond its last.
    case noSuchVersion(stream: String, version: StreamVersion, last: StreamVersion)
    /// No module declares how to revert streams of this category.
    case notRevertible(category: String)

    public var description: String {
        switch self {
        case .unknownStream(let stream): "there is no stream \(stream)"
        case let .noSuchVersion(stream, version, last): "\(stream) has versions 1 to \(last); \(version) is not one of them"
        case .notRevertible(let category): "no application declares how to revert \(category) streams"
        }
    }
}

/// Reverts streams of one decider: appends compensating events that bring a stream's state back to
/// what it was at a version.
public struct Reverter<D: Compensating, Codec: EventCodec>: Sendable where Codec.Event == D.Event {
    public let store: any EventStore
    public let codec: Codec

    public init(store: any EventStore, codec: Codec) {
        self.store = store
        self.codec = codec
    }

    /// Reverts `stream` to its state at `version`: walks back from the newest event, asking the domain
    /// for each one's compensation; refuses (appending nothing) if any event cannot be undone, or if the
    /// compensations would not bring back exactly the state at `version`; otherwise appends them all at
    /// once, expecting the version it read, each caused by the event it reverses.
    public func revert(_ stream: StreamName, toVersion version: StreamVersion) async throws -> RevertOutcome {
        var events: [RecordedEvent] = []
        while true {
            let page = try await store.read(stream, from: StreamVersion(events.count) + 1, direction: .forwards, limit: 1_000)
            events += page
            if page.count < 1_000 { break }
        }
        guard let last = events.last?.version else { throw RevertError.unknownStream(stream.description) }
        guard version >= 1, version <= last else { throw RevertError.noSuchVersion(stream: stream.description, version: version, last: last) }
        let decoded = try events.map { try codec.decode($0) }
        var states = [D.initialState]
        for event in decoded { states.append(D.evolve(states[states.count - 1], event)) }
        let target = states[Int(version)]
        var now = states[states.count - 1]
        var steps: [RevertOutcome.Step] = []
        var appended: [NewEvent] = []
        var refused = false
        for index in stride(from: events.count - 1, through: Int(version), by: -1) {
            let recorded = events[index]
            var step = RevertOutcome.Step(version: recorded.version, type: recorded.type, compensatedBy: [], note: nil)
            switch D.compensation(for: decoded[index], before: states[index], now: now) {
            case .events(let compensating):
                for event in compensating {
                    let encoded = try codec.encode(event)
                    step.compensatedBy.append(encoded.type)
                    appended.append(
                        NewEvent(
                            id: UUID(), type: encoded.type, schemaVersion: encoded.schemaVersion, data: encoded.data,
                            metadata: Metadata(
                                causationId: recorded.id, correlationId: recorded.metadata.correlationId ?? recorded.id,
                                extra: ["reverts": recorded.id.lowercasedString])))
                    now = D.evolve(now, event)
                }
            case .nothing(let reason):
                step.note = reason
            case .impossible(let reason):
                step.note = reason
                step.refused = true
                refused = true
            }
            steps.append(step)
        }
        if !refused && now != target {
            steps.append(
                RevertOutcome.Step(
                    version: version, type: "", compensatedBy: [], note: "the compensations would not bring back the state at version \(version)", refused: true))
            refused = true
        }
        if refused || appended.isEmpty {
            return RevertOutcome(reverted: !refused, steps: steps, streamVersion: last, position: nil)
        }
        let result = try await store.append(appended, to: stream, expecting: .exactly(last))
        return RevertOutcome(reverted: true, steps: steps, streamVersion: result.streamVersion, position: result.lastPosition.rawValue)
    }
}

/// The reverts every module declares, by stream category: what `chronicle streams revert` and the admin
/// console's revert reach.
public final class RevertRegistry: Sendable {
    public typealias Revert = @Sendable (StreamName, StreamVersion) async throws -> RevertOutcome
    private let reverts = Mutex<[String: Revert]>([:])

    public init() {}

    /// Declares how streams of `category` are reverted.
    public func register<D: Compensating, Codec: EventCodec>(category: String, _ reverter: Reverter<D, Codec>) {
        reverts.withLock { $0[category] = { stream, version in try await reverter.revert(stream, toVersion: version) } }
    }

    /// Reverts `stream` to its state at `version` (see ``Reverter/revert(_:toVersion:)``).
    /// - Throws: ``RevertError`` when the stream, the version or the category's revert does not exist.
    public func revert(_ stream: StreamName, toVersion version: StreamVersion) async throws -> RevertOutcome {
        guard let revert = reverts.withLock({ $0[stream.category] }) else { throw RevertError.notRevertible(category: stream.category) }
        return try await revert(stream, version)
    }
}
