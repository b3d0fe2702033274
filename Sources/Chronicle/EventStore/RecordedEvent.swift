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
    /// What `data` is: JSON (every application's events), or bytes a protocol client sent.
    public var contentType: EventContentType
    /// Metadata bytes a protocol client attached (KurrentDB's custom metadata), stored exactly as given;
    /// empty when none.
    public var customMetadata: Data

    /// Makes an event to append.
    public init(
        id: UUID, type: String, schemaVersion: Int = 1, data: Data, metadata: Metadata = Metadata(),
        contentType: EventContentType = .json, customMetadata: Data = Data()
    ) {
        self.id = id
        self.type = type
        self.schemaVersion = schemaVersion
        self.data = data
        self.metadata = metadata
        self.contentType = contentType
        self.customMetadata = customMetadata
    }

    /// The type of the event that tombstones a stream (KurrentDB's hard delete): a store that appends it
    /// refuses every later append to that stream with ``EventStoreError/streamDeleted(stream:)``.
    public static let tombstoneType = "$streamDeleted"

    /// Whether the event needs more than an application's event needs: bytes that are not JSON text, or
    /// custom metadata. (Stores may write plain events on a faster path.)
    public var isPlain: Bool { contentType == .json && customMetadata.isEmpty }
}

/// What an event's data is.
///
/// NOTE: stored format — a store writes nothing for ``json`` (the data is JSON text, as every event
/// written before protocol clients was) and ``mediaType`` otherwise, with the data as bytes.
public struct EventContentType: Hashable, Sendable, CustomStringConvertible {
    /// The media type a client gives and is given back (`application/json`, `application/octet-stream`).
    public let mediaType: String
    /// Whether the data is JSON text that read models and the console can read.
    public let isJSONText: Bool

    /// JSON text: what applications append.
    public static let json = EventContentType(mediaType: "application/json", isJSONText: true)
    /// Bytes of any kind.
    public static let octetStream = EventContentType(mediaType: "application/octet-stream", isJSONText: false)
    /// Bytes a client declared JSON that do not parse as JSON: kept as bytes, given back as JSON.
    public static let unparsedJSON = EventContentType(mediaType: "application/json", isJSONText: false)

    /// A content type as stored: nil is ``json``; a stored media type is bytes of that type.
    public init(stored mediaType: String?) {
        if let mediaType { self.init(mediaType: mediaType, isJSONText: false) } else { self = .json }
    }

    private init(mediaType: String, isJSONText: Bool) {
        self.mediaType = mediaType
        self.isJSONText = isJSONText
    }

    /// What a store writes: nil for ``json``, the media type otherwise.
    public var stored: String? { isJSONText ? nil : mediaType }

    public var description: String { isJSONText ? mediaType : "\(mediaType) (bytes)" }
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
    /// What `data` is (see ``NewEvent/contentType``).
    public var contentType: EventContentType
    /// A protocol client's metadata bytes (see ``NewEvent/customMetadata``).
    public var customMetadata: Data

    /// Makes a recorded event (stores do this; tests may too).
    public init(
        id: UUID, stream: StreamName, version: StreamVersion, position: GlobalPosition, type: String,
        schemaVersion: Int, data: Data, metadata: Metadata, recordedAt: Date, contentType: EventContentType = .json,
        customMetadata: Data = Data()
    ) {
        self.contentType = contentType
        self.customMetadata = customMetadata
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
            && metadata == event.metadata && contentType == event.contentType && customMetadata == event.customMetadata
    }
}

/// The envelope name some readers know: a recorded event with its position and metadata.
public typealias EventEnvelope = RecordedEvent
