import Foundation
import Synchronization

/// A domain event that is `Codable` and names its stored types itself, in its `CodingKeys`: one key a
/// case, its raw value the stored type name — explicit and stable, never derived from a Swift name, so
/// renaming a case does not orphan the events already stored (the key keeps its raw value). A case's
/// fields are stored under their labels, or under the names its `<Case>CodingKeys` gives; a case whose
/// one value is unlabeled is stored as that value.
///
/// ```swift
/// enum Event: CodableEvent, Equatable {
///     case incremented(by: Int)
///     enum CodingKeys: String, CodingKey, CaseIterable { case incremented = "CounterIncremented" }
/// }
/// ```
public protocol CodableEvent: Codable, Sendable {
    /// The cases' stored type names.
    associatedtype CodingKeys: CodingKey, CaseIterable
    /// How `/` is written in this event's stored strings (``StoredJSON/Slashes/unescaped`` unless its
    /// events were stored escaped before Chronicle had one encoder).
    static var storedSlashes: StoredJSON.Slashes { get }
}

extension CodableEvent {
    public static var storedSlashes: StoredJSON.Slashes { .unescaped }

    /// Every stored type name of this event.
    public static var typeNames: [String] { CodingKeys.allCases.map(\.stringValue) }
}

/// The codec for a ``CodableEvent``: the type is the case's key in ``CodableEvent/CodingKeys``, the body
/// its fields as a JSON object, keys sorted (`{"by":3}`, never the case's Swift name), the schema version
/// `schemaVersion`; `upcasters` bring older schema versions up first.
public struct JSONEventCodec<Event: CodableEvent>: EventCodec {
    /// The schema version events are written at.
    public let schemaVersion: Int
    /// How older schema versions become the current one.
    public let upcasters: UpcasterChain
    private var encoder: JSONEncoder { StoredJSON.encoder(slashes: Event.storedSlashes) }
    /// The stored types whose case holds one unlabeled value (stored as that value), learnt on decoding,
    /// for every codec of `Event` (a codec is a value: making one costs nothing).
    private var unlabeled: Learnt { Learnt.of(Event.self) }

    /// Every stored type name this codec reads.
    public static var typeNames: [String] { Event.typeNames }

    /// A codec writing `schemaVersion` (1 by default), upcasting older versions with `upcasters`.
    public init(schemaVersion: Int = 1, upcasters: UpcasterChain = UpcasterChain([])) {
        self.schemaVersion = schemaVersion
        self.upcasters = upcasters
    }

    public func encode(_ event: Event) throws -> EncodedEvent {
        // Swift's coding of an enum is `{"<key>":{<fields>}}` (`{"<key>":{"_0":<value>}}` for one
        // unlabeled value); with sorted keys and no whitespace the parts are found by position.
        let whole = Array(try encoder.encode(event))
        guard whole.count > 4, whole.first == UInt8(ascii: "{"), whole[1] == UInt8(ascii: "\""), whole.last == UInt8(ascii: "}"),
            let close = whole[2...].firstIndex(of: UInt8(ascii: "\"")), whole[close + 1] == UInt8(ascii: ":")
        else {
            throw CodecError.malformed(type: "\(Event.self)", reason: "an event must be an enum whose cases have CodingKeys")
        }
        let type = String(decoding: whole[2..<close], as: UTF8.self)
        var body = whole[(close + 2)..<(whole.count - 1)]
        let wrapper = Array(#"{"_0":"#.utf8)
        if body.starts(with: wrapper) {
            // Whether `_0` is the case's only value is the case's shape: parsed once per type, then known.
            let single =
                unlabeled.withLock { $0[type] }
                ?? {
                    let single = (try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])?.count == 1
                    unlabeled.withLock { $0[type] = single }
                    return single
                }()
            if single { body = body[(body.startIndex + wrapper.count)..<(body.endIndex - 1)] }
        }
        return EncodedEvent(type: type, schemaVersion: schemaVersion, data: Data(body))
    }

    public func decode(_ stored: EncodedEvent) throws -> Event {
        let encoded = try upcasters.upcast(stored)
        guard Event.CodingKeys(stringValue: encoded.type) != nil else { throw CodecError.unknownType(encoded.type) }
        guard encoded.schemaVersion == schemaVersion else {
            throw CodecError.unsupportedSchemaVersion(type: encoded.type, version: encoded.schemaVersion)
        }
        func decode(wrapped: Bool) throws -> Event {
            var whole = Data(#"{""#.utf8) + Data(encoded.type.utf8) + Data(#"":"#.utf8)
            whole += wrapped ? Data(#"{"_0":"#.utf8) + encoded.data + Data("}".utf8) : encoded.data
            whole += Data("}".utf8)
            return try JSONDecoder().decode(Event.self, from: whole)
        }
        do {
            if let wrapped = unlabeled.withLock({ $0[encoded.type] }) { return try decode(wrapped: wrapped) }
            do {
                let event = try decode(wrapped: false)
                unlabeled.withLock { $0[encoded.type] = false }
                return event
            } catch DecodingError.keyNotFound(let key, let context) where key.stringValue == "_0" && context.codingPath.count == 1 {
                // The case holds one unlabeled value: the body is that value.
                let event = try decode(wrapped: true)
                unlabeled.withLock { $0[encoded.type] = true }
                return event
            }
        } catch {
            throw CodecError.malformed(type: encoded.type, reason: String(describing: error))
        }
    }
}

/// What decoding has learnt of each event type's cases, shared by all of its codecs.
private final class Learnt: Sendable {
    private let cases = Mutex<[String: Bool]>([:])
    private static let byType = Mutex<[ObjectIdentifier: Learnt]>([:])

    static func of(_ type: Any.Type) -> Learnt {
        byType.withLock { known in
            if let learnt = known[ObjectIdentifier(type)] { return learnt }
            let learnt = Learnt()
            known[ObjectIdentifier(type)] = learnt
            return learnt
        }
    }

    func withLock<R>(_ body: (inout [String: Bool]) -> R) -> R { cases.withLock { body(&$0) } }
}
