import Foundation
import Synchronization

/// A decider's state saved at a stream version, so that loading the stream reads only the events after
/// it. Snapshots are a cache: without them every answer is the same, only more events are read.
public struct Snapshot: Sendable, Hashable {
    /// The stream whose state this is.
    public var stream: StreamName
    /// The stream version the state reflects (every event up to it folded in).
    public var version: StreamVersion
    /// The schema version the state was encoded with (``SnapshotPolicy/schemaVersion``).
    public var schemaVersion: Int
    /// The encoded state.
    public var data: Data

    /// Makes a snapshot.
    public init(stream: StreamName, version: StreamVersion, schemaVersion: Int, data: Data) {
        self.stream = stream
        self.version = version
        self.schemaVersion = schemaVersion
        self.data = data
    }
}

/// Where snapshots are kept: the latest per stream.
public protocol SnapshotStore: Sendable {
    /// The stream's latest snapshot, if any.
    func latestSnapshot(of stream: StreamName) async throws -> Snapshot?
    /// Keeps `snapshot` as the stream's latest, unless one of the same schema version at a later stream
    /// version is kept already. (A snapshot of another schema version is always replaced: it is of no
    /// use to the decider that saves this one.)
    func save(_ snapshot: Snapshot) async throws
    /// Forgets every snapshot.
    func deleteAllSnapshots() async throws
}

/// Snapshots in memory, for unit tests and examples.
public final class InMemorySnapshotStore: SnapshotStore {
    private let snapshots = Mutex<[StreamName: Snapshot]>([:])

    /// An empty store.
    public init() {}

    public func latestSnapshot(of stream: StreamName) -> Snapshot? {
        snapshots.withLock { $0[stream] }
    }

    public func save(_ snapshot: Snapshot) {
        snapshots.withLock { snapshots in
            if let kept = snapshots[snapshot.stream], kept.schemaVersion == snapshot.schemaVersion, kept.version > snapshot.version {
                return
            }
            snapshots[snapshot.stream] = snapshot
        }
    }

    public func deleteAllSnapshots() {
        snapshots.withLock { $0.removeAll() }
    }
}

/// How a decider's state is snapshotted: after every `every` events of a stream, encoded at
/// `schemaVersion`. Change `schemaVersion` whenever the state's encoding changes: snapshots of another
/// schema version are then ignored (the stream is folded from its events), never decoded wrongly.
public struct SnapshotPolicy<State: Sendable>: Sendable {
    /// A snapshot is saved each time a stream's version passes a multiple of `every`.
    public var every: Int
    /// The version of the state's encoding.
    public var schemaVersion: Int
    /// Encodes a state.
    public var encode: @Sendable (State) throws -> Data
    /// Decodes a state encoded at ``schemaVersion``.
    public var decode: @Sendable (Data) throws -> State

    /// A policy with its own encoding.
    public init(
        every: Int, schemaVersion: Int, encode: @escaping @Sendable (State) throws -> Data,
        decode: @escaping @Sendable (Data) throws -> State
    ) {
        self.every = max(1, every)
        self.schemaVersion = schemaVersion
        self.encode = encode
        self.decode = decode
    }

    /// Whether appending took a stream from version `old` past a multiple of ``every`` (to `new`).
    func isDue(from old: StreamVersion, to new: StreamVersion) -> Bool {
        new / Int64(every) > old / Int64(every)
    }
}

extension SnapshotPolicy where State: Codable {
    /// A policy that encodes the state as JSON with `Codable`, keys sorted: the same state, the same bytes.
    /// (Until 2026-12-06 the keys came in an order that changed from process to process; snapshots
    /// written so decode all the same — `StoredFormatTests`.)
    public init(every: Int, schemaVersion: Int) {
        self.init(
            every: every, schemaVersion: schemaVersion,
            encode: { try StoredJSON.encode($0, slashes: .escaped) },  // NOTE: stored format: `/` escaped
            decode: { try JSONDecoder().decode(State.self, from: $0) })
    }
}
