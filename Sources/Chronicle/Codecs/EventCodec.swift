import Foundation

/// An event as stored: its explicit type name, schema version and JSON body.
public struct EncodedEvent: Hashable, Sendable {
    /// The stable stored name, never derived from a Swift type name (e.g. `TodoAdded`).
    public var type: String
    /// The schema version of `data`.
    public var schemaVersion: Int
    /// The body, JSON.
    public var data: Data

    /// Makes an encoded event.
    public init(type: String, schemaVersion: Int, data: Data) {
        self.type = type
        self.schemaVersion = schemaVersion
        self.data = data
    }
}

/// Turns a domain's events into stored events and back.
///
/// Decoding a type the codec does not know is ``CodecError/unknownType(_:)``: a subscription that meets
/// it stops there (it never skips an event it cannot read).
public protocol EventCodec<Event>: Sendable {
    /// The domain's event type.
    associatedtype Event
    /// The stored form of `event`, at the current schema version.
    func encode(_ event: Event) throws -> EncodedEvent
    /// The domain event for a stored one (older schema versions already upcast).
    func decode(_ encoded: EncodedEvent) throws -> Event
}

extension EventCodec {
    /// Decodes a recorded event.
    public func decode(_ recorded: RecordedEvent) throws -> Event {
        try decode(EncodedEvent(type: recorded.type, schemaVersion: recorded.schemaVersion, data: recorded.data))
    }
}

/// Why an event could not be encoded or decoded.
public enum CodecError: Error, Equatable, CustomStringConvertible {
    /// No decoder for this stored type name.
    case unknownType(String)
    /// A known type at a schema version with neither a decoder nor an upcaster.
    case unsupportedSchemaVersion(type: String, version: Int)
    /// The body does not match the type's schema.
    case malformed(type: String, reason: String)

    public var description: String {
        switch self {
        case .unknownType(let type): "unknown event type \"\(type)\""
        case let .unsupportedSchemaVersion(type, version): "no decoder for \(type) at schema version \(version)"
        case let .malformed(type, reason): "malformed \(type): \(reason)"
        }
    }
}

/// Brings a stored event of one schema version to the next (e.g. renames a field, adds a default).
public struct Upcaster: Sendable {
    /// The stored type name it applies to.
    public let type: String
    /// The version it reads; it produces `fromVersion + 1`.
    public let fromVersion: Int
    /// Rewrites the JSON body.
    public let transform: @Sendable (Data) throws -> Data

    /// Makes an upcaster from `type` at `fromVersion` to `fromVersion + 1`.
    public init(type: String, fromVersion: Int, transform: @escaping @Sendable (Data) throws -> Data) {
        self.type = type
        self.fromVersion = fromVersion
        self.transform = transform
    }

    /// An upcaster that edits the body as a JSON object.
    public static func jsonObject(
        type: String, fromVersion: Int, _ edit: @escaping @Sendable (inout [String: JSONValue]) throws -> Void
    ) -> Upcaster {
        Upcaster(type: type, fromVersion: fromVersion) { data in
            guard case .object(var object) = try JSONDecoder().decode(JSONValue.self, from: data) else {
                throw CodecError.malformed(type: type, reason: "the body is not a JSON object")
            }
            try edit(&object)
            return try JSONEncoder().encode(JSONValue.object(object))
        }
    }
}

/// A chain of upcasters, applied on read until no upcaster matches.
public struct UpcasterChain: Sendable {
    private let byKey: [String: Upcaster]

    /// Makes a chain; at most one upcaster per (type, version).
    public init(_ upcasters: [Upcaster]) {
        var byKey: [String: Upcaster] = [:]
        for upcaster in upcasters { byKey["\(upcaster.type)@\(upcaster.fromVersion)"] = upcaster }
        self.byKey = byKey
    }

    /// `encoded` brought to its newest known version.
    public func upcast(_ encoded: EncodedEvent) throws -> EncodedEvent {
        var current = encoded
        while let upcaster = byKey["\(current.type)@\(current.schemaVersion)"] {
            current = EncodedEvent(
                type: current.type, schemaVersion: current.schemaVersion + 1, data: try upcaster.transform(current.data))
        }
        return current
    }
}
