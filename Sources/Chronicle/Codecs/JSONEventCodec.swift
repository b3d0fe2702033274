import Foundation

/// A domain event that is `Codable` and names its stored type itself: explicit and stable, never derived
/// from a Swift name, so renaming a case or a type does not orphan the events already stored.
///
/// ```swift
/// enum Event: CodableEvent, Equatable {
///     case incremented(by: Int)
///     var eventType: String { "CounterIncremented" }
/// }
/// ```
public protocol CodableEvent: Codable, Sendable {
    /// The stored type name of this event.
    var eventType: String { get }
}

/// The codec for a ``CodableEvent``: the body is the event's `Codable` form as JSON (keys sorted), the
/// type its ``CodableEvent/eventType``, the schema version `schemaVersion`. Decoding checks that the
/// body decodes into an event of the stored type; `upcasters` bring older schema versions up first.
///
/// The body follows the Swift shape (case and property names): when one must change, keep the stored
/// shape with `CodingKeys`, or move to a hand-written ``EventCodec`` and an upcaster.
public struct JSONEventCodec<Event: CodableEvent>: EventCodec {
    /// The schema version events are written at.
    public let schemaVersion: Int
    /// How older schema versions become the current one.
    public let upcasters: UpcasterChain

    /// A codec writing `schemaVersion` (1 by default), upcasting older versions with `upcasters`.
    public init(schemaVersion: Int = 1, upcasters: UpcasterChain = UpcasterChain([])) {
        self.schemaVersion = schemaVersion
        self.upcasters = upcasters
    }

    public func encode(_ event: Event) throws -> EncodedEvent {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return EncodedEvent(type: event.eventType, schemaVersion: schemaVersion, data: try encoder.encode(event))
    }

    public func decode(_ stored: EncodedEvent) throws -> Event {
        let encoded = try upcasters.upcast(stored)
        guard encoded.schemaVersion == schemaVersion else {
            throw CodecError.unsupportedSchemaVersion(type: encoded.type, version: encoded.schemaVersion)
        }
        let event: Event
        do {
            event = try JSONDecoder().decode(Event.self, from: encoded.data)
        } catch {
            throw CodecError.malformed(type: encoded.type, reason: String(describing: error))
        }
        // A body that decodes as another type of event is not this one.
        guard event.eventType == encoded.type else { throw CodecError.unknownType(encoded.type) }
        return event
    }
}
