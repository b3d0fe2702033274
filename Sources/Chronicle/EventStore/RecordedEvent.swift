import Foundation

/// An event to append: its id (for idempotent retries), its stored type name and schema version,
/// its JSON data and its metadata.
public struct NewEvent: Hashable, Sendable {
    /// The event's id. Re-sending an event with the same id (and the same content) writes nothing.
    public var id: UUID
    /// The explicit, stable name the event is stored under (e.g. `TodoAdded`).
    public var type: String
    /// The schema version of `data`; upcasters bring older versions to the current one on read.
    public var schemaVersion: Int
    /// The event's body, JSON.
    public var data: Data
    /// Causation, correlation and more.
    public var metadata: Metadata

    /// Makes an event to append.
    public init(id: UUID, type: String, schemaVersion: Int = 1, data: Data, metadata: Metadata = Metadata()) {
        self.id = id
        self.type = type
        self.schemaVersion = schemaVersion
        self.data = data
        self.metadata = metadata
    }
}

/// An event as the store holds it: the appended event plus where and when it landed.
public struct RecordedEvent: Hashable, Sendable {
    /// The event's id.
    public var id: UUID
    /// The stream it belongs to.
    public var stream: StreamName
    /// Its version in the stream (the stream's first event is 1).
    public var version: StreamVersion
    /// Its place in the global log.
    public var position: GlobalPosition
    /// The stored type name.
    public var type: String
    /// The schema version of `data` as stored.
    public var schemaVersion: Int
    /// The event's body, JSON.
    public var data: Data
    /// Causation, correlation and more.
    public var metadata: Metadata
    /// When the store committed it.
    public var recordedAt: Date

    /// Makes a recorded event (stores do this; tests may too).
    public init(
        id: UUID, stream: StreamName, version: StreamVersion, position: GlobalPosition, type: String,
        schemaVersion: Int, data: Data, metadata: Metadata, recordedAt: Date
    ) {
        self.id = id
        self.stream = stream
        self.version = version
        self.position = position
        self.type = type
        self.schemaVersion = schemaVersion
        self.data = data
        self.metadata = metadata
        self.recordedAt = recordedAt
    }

    /// Whether `event` is this same event sent again (same id, type, schema version, data and metadata).
    public func isSameEvent(as event: NewEvent) -> Bool {
        id == event.id && type == event.type && schemaVersion == event.schemaVersion && data == event.data
            && metadata == event.metadata
    }
}

/// The envelope name some readers know: a recorded event with its position and metadata.
public typealias EventEnvelope = RecordedEvent
