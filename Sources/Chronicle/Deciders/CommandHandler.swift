import Foundation
import Logging

/// The answer to a command: Accepted (events appended) or Rejected (the broken rule).
public enum CommandOutcome<Event: Sendable, Rejection: Error & Sendable>: Sendable {
    /// The command was accepted; `events` were appended (none for a no-op).
    case accepted(events: [Event], streamVersion: StreamVersion, position: GlobalPosition?)
    /// The command broke a rule; nothing was written.
    case rejected(Rejection)
}

/// Who chose a command's id and what the command was. A command id identifies one command: sent again
/// with the same type, stream and body (the same ``fingerprint``) it is answered with its first outcome;
/// with anything else it is refused (``CommandError/commandIdReused(_:reason:)``).
public struct CommandIdentity: Sendable, Hashable {
    /// Who chose the id.
    public enum Origin: Sendable, Hashable {
        /// A client (`command_id` over HTTP, `chronicle send`, a caller of ``CommandHandler``).
        case client
        /// A process manager (`UUID.processCommand(_:of:causedBy:)`). Its commands' events get ids
        /// from another derivation than clients' do, so no id a client sends can pre-empt them.
        case process
    }

    /// The command's id.
    public var id: UUID
    /// Who chose it.
    public var origin: Origin
    /// A digest of what the command is (its type name and body): nil where the caller has none, and
    /// then only the stream is compared.
    public var fingerprint: UUID?

    /// Makes an identity.
    public init(id: UUID, origin: Origin = .client, fingerprint: UUID? = nil) {
        self.id = id
        self.origin = origin
        self.fingerprint = fingerprint
    }

    /// The fingerprint of the command named `type` with the body `body` (UUID version 5 of both).
    public static func fingerprint(type: String, body: some Sequence<UInt8>) -> UUID {
        UUID(namespace: fingerprints, name: Array(type.utf8) + [0] + Array(body))
    }

    /// The id of the `index`-th event (from 0) the command makes.
    func event(_ index: Int) -> UUID {
        switch origin {
        case .client: UUID.event(index, ofCommand: id)
        case .process: UUID.event(index, ofProcessCommand: id)
        }
    }

    /// The metadata key its events carry the fingerprint under.
    // NOTE: stored format — events of a command with a fingerprint carry it in their metadata under
    // this key (added in Hardening 2; events stored before it have none, and are compared by stream).
    static let fingerprintKey = "command_fingerprint"
    static let fingerprints = UUID(uuid: (0x9d, 0x42, 0x17, 0xa3, 0x5e, 0x60, 0x4f, 0x21, 0xb8, 0x0c, 0x33, 0x7a, 0xe1, 0x94, 0x2b, 0x5f))
}

/// Why a command could not be handled (as opposed to a rule refusing it).
public enum CommandError: Error, Equatable, CustomStringConvertible {
    /// The command id was used for another command (another stream, type or body): nothing was written.
    case commandIdReused(UUID, reason: String)
    /// The decider made an event its own codec cannot read back (a value beyond what the stored form
    /// holds): storing it would stop every read model and process at it, so nothing was written.
    case unreadableEvent(type: String, reason: String)

    public var description: String {
        switch self {
        case let .commandIdReused(id, reason):
            "the command id \(id.uuidString.lowercased()) was used for another command (\(reason)): choose a new command id"
        case let .unreadableEvent(type, reason):
            "the command would store a \(type) that cannot be read back (\(reason)); nothing was stored"
        }
    }
}

/// Loads a stream, folds it, decides, and appends with the version it read.
///
/// On a concurrency conflict it reloads and decides again, up to `maxAttempts` times; then the
/// ``EventStoreError/wrongExpectedVersion(stream:expected:actual:)`` is thrown to the caller.
///
/// With a ``SnapshotStore`` and a decider that declares a ``Decider/snapshotPolicy``, loading starts
/// from the stream's latest usable snapshot and folds only the events after it, and a snapshot is saved
/// each time an append takes the stream past a multiple of the policy's `every`. Snapshots are a cache:
/// one that is missing, of another schema version, undecodable or unreadable is passed over (the stream
/// is folded from its events), and failing to save one never fails the command.
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
    /// Where snapshots are kept (nil: none are used or saved).
    public var snapshots: (any SnapshotStore)?
    /// When and how states are snapshotted: the decider's ``Decider/snapshotPolicy`` unless the handler
    /// was given another (a deployment may snapshot more or less often than the domain's default).
    public var snapshotPolicy: SnapshotPolicy<D.State>?
    private let logger: Logger

    /// Makes a handler.
    public init(
        store: any EventStore, codec: Codec, maxAttempts: Int = 5, pageSize: Int = 1_000, snapshots: (any SnapshotStore)? = nil,
        snapshotPolicy: SnapshotPolicy<D.State>? = D.snapshotPolicy, makeEventId: @escaping @Sendable () -> UUID = { UUID() },
        logger: Logger = Logger(label: "chronicle.commands")
    ) {
        self.store = store
        self.codec = codec
        self.maxAttempts = max(1, maxAttempts)
        self.pageSize = max(1, pageSize)
        self.snapshots = snapshots
        self.snapshotPolicy = snapshotPolicy
        self.makeEventId = makeEventId
        self.logger = logger
    }

    /// Loads `stream` and folds it: the state and the version it is at.
    public func load(_ stream: StreamName) async throws -> (state: D.State, version: StreamVersion) {
        var (state, version) = try await snapshot(of: stream) ?? (D.initialState, 0)
        while true {
            let page = try await store.read(stream, from: version + 1, direction: .forwards, limit: pageSize)
            for recorded in page {
                state = D.evolve(state, try codec.decode(recorded))
                version = recorded.version
            }
            if page.count < pageSize { return (state, version) }
        }
    }

    /// The state of `stream` as it was: after its event at `version`, or after the last event recorded at
    /// or before `date` (both given: whichever came first). Nil when the stream had no event by then, or
    /// when `version` is beyond its last. Always folded from the events (snapshots describe now).
    public func state(of stream: StreamName, asOfVersion version: StreamVersion? = nil, recordedBy date: Date? = nil) async throws
        -> (state: D.State, version: StreamVersion)?
    {
        if let version, version < 1 { return nil }
        var (state, reached) = (D.initialState, StreamVersion(0))
        pages: while true {
            let page = try await store.read(stream, from: reached + 1, direction: .forwards, limit: pageSize)
            for recorded in page {
                if let version, recorded.version > version { break pages }
                if let date, recorded.recordedAt > date { break pages }
                state = D.evolve(state, try codec.decode(recorded))
                reached = recorded.version
            }
            if page.count < pageSize { break }
        }
        if let version, reached < version { return nil }
        return reached == 0 ? nil : (state, reached)
    }

    /// Decides `command` against `stream` and appends what it decided (a client-chosen `commandId`:
    /// see ``handle(_:on:metadata:identity:)``).
    public func handle(_ command: D.Command, on stream: StreamName, metadata: Metadata = Metadata(), commandId: UUID? = nil)
        async throws -> CommandOutcome<D.Event, D.Rejection>
    {
        try await handle(command, on: stream, metadata: metadata, identity: commandId.map { CommandIdentity(id: $0) })
    }

    /// Decides `command` against `stream` and appends what it decided.
    ///
    /// With an `identity`, the command is applied once however often it is sent: its events get ids
    /// derived from the command id (``CommandIdentity``), and a command whose first event is stored
    /// already is answered with the events it stored then, without being decided again. (A rejection
    /// stores nothing, so a rejected command sent again is decided again.) A command id already used on
    /// another stream, or for a command of another fingerprint, is refused
    /// (``CommandError/commandIdReused(_:reason:)``). An event the codec cannot read back is never
    /// stored (``CommandError/unreadableEvent(type:reason:)``).
    public func handle(_ command: D.Command, on stream: StreamName, metadata: Metadata = Metadata(), identity: CommandIdentity?)
        async throws -> CommandOutcome<D.Event, D.Rejection>
    {
        try await handleNamingTypes(command, on: stream, metadata: metadata, identity: identity).outcome
    }

    /// ``handle(_:on:metadata:identity:)``, with the stored type names of the events it answers with (as
    /// the codec named them when it stored them: nothing is encoded twice).
    func handleNamingTypes(_ command: D.Command, on stream: StreamName, metadata: Metadata, identity: CommandIdentity?)
        async throws -> (outcome: CommandOutcome<D.Event, D.Rejection>, types: [String])
    {
        var metadata = metadata
        if let fingerprint = identity?.fingerprint { metadata.extra[CommandIdentity.fingerprintKey] = fingerprint.lowercasedString }
        var attempt = 1
        while true {
            // Checked on every attempt: a conflict may be a concurrent send of this same command.
            if let identity, let earlier = try await earlierOutcome(of: identity, on: stream) { return earlier }
            let (state, version) = try await load(stream)
            let events: [D.Event]
            do {
                events = try D.decide(command, state)
            } catch {
                return (.rejected(error), [])
            }
            if events.isEmpty { return (.accepted(events: [], streamVersion: version, position: nil), []) }
            let newEvents = try events.enumerated().map { index, event in
                let encoded = try codec.encode(event)
                // Whatever a command stores, every reader can decode: what does not read back is refused here.
                do {
                    _ = try codec.decode(encoded)
                } catch {
                    throw CommandError.unreadableEvent(type: encoded.type, reason: "\(error)")
                }
                return NewEvent(
                    id: identity?.event(index) ?? makeEventId(), type: encoded.type,
                    schemaVersion: encoded.schemaVersion, data: encoded.data, metadata: metadata)
            }
            do {
                let result = try await store.append(newEvents, to: stream, expecting: .exactly(version))
                await saveSnapshotIfDue(of: stream, state: state, version: version, appended: events, now: result.streamVersion)
                return (.accepted(events: events, streamVersion: result.streamVersion, position: result.lastPosition), newEvents.map(\.type))
            } catch EventStoreError.wrongExpectedVersion where attempt < maxAttempts {
                attempt += 1
            }
        }
    }

    /// What the command stored when it was first applied: nil when it has not been.
    private func earlierOutcome(of identity: CommandIdentity, on stream: StreamName) async throws
        -> (outcome: CommandOutcome<D.Event, D.Rejection>, types: [String])?
    {
        var derive = identity.event
        var found = try await store.event(id: derive(0))
        if found == nil, identity.origin == .process {
            // A process manager's command sent before Hardening 2 derived its events' ids as a client's;
            // such an event carries no fingerprint (a client's sent since does).
            let legacy = CommandIdentity(id: identity.id)
            if let old = try await store.event(id: legacy.event(0)), old.metadata.extra[CommandIdentity.fingerprintKey] == nil {
                (derive, found) = (legacy.event, old)
            }
        }
        guard let first = found else { return nil }
        guard first.stream == stream else {
            throw CommandError.commandIdReused(identity.id, reason: "it was applied to another stream")
        }
        if let fingerprint = identity.fingerprint, let stored = first.metadata.extra[CommandIdentity.fingerprintKey],
            stored != fingerprint.lowercasedString
        {
            throw CommandError.commandIdReused(identity.id, reason: "it was sent with another type or body")
        }
        // Its events are consecutive in the stream (one append), each with the next derived id.
        var stored = [first]
        var next = first.version + 1
        readAll: while true {
            let page = try await store.read(stream, from: next, direction: .forwards, limit: pageSize)
            for recorded in page {
                guard recorded.id == derive(stored.count) else { break readAll }
                stored.append(recorded)
                next = recorded.version + 1
            }
            if page.count < pageSize { break }
        }
        let last = stored[stored.count - 1]
        return (.accepted(events: try stored.map { try codec.decode($0) }, streamVersion: last.version, position: last.position), stored.map(\.type))
    }

    /// The stream's latest snapshot as a state, when there is a usable one.
    private func snapshot(of stream: StreamName) async throws -> (D.State, StreamVersion)? {
        guard let snapshots, let policy = snapshotPolicy else { return nil }
        let snapshot: Snapshot?
        do {
            snapshot = try await snapshots.latestSnapshot(of: stream)
        } catch EventStoreError.unavailable(let reason) {
            // The database is away: the stream cannot be read either, so say so now (503), not after
            // waiting for it a second time.
            throw EventStoreError.unavailable(reason)
        } catch {
            logger.warning("reading a snapshot failed; folding the stream", metadata: ["stream": "\(stream)", "error": "\(error)"])
            return nil
        }
        guard let snapshot, snapshot.schemaVersion == policy.schemaVersion else { return nil }
        do {
            return (try policy.decode(snapshot.data), snapshot.version)
        } catch {
            logger.warning("a snapshot could not be decoded; folding the stream", metadata: ["stream": "\(stream)", "error": "\(error)"])
            return nil
        }
    }

    /// Saves the state after `appended` when the append took the stream past a multiple of the policy's
    /// `every`; a failure is logged, never thrown (the events are stored: the command stands).
    private func saveSnapshotIfDue(
        of stream: StreamName, state: D.State, version: StreamVersion, appended: [D.Event], now newVersion: StreamVersion
    ) async {
        guard let snapshots, let policy = snapshotPolicy, policy.isDue(from: version, to: newVersion) else { return }
        do {
            let data = try policy.encode(appended.reduce(state, D.evolve))
            try await snapshots.save(Snapshot(stream: stream, version: newVersion, schemaVersion: policy.schemaVersion, data: data))
        } catch {
            logger.warning("saving a snapshot failed", metadata: ["stream": "\(stream)", "error": "\(error)"])
        }
    }
}
