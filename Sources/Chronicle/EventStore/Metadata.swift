import Foundation

/// What is known about an event besides its data: why it happened and in which conversation.
///
/// NOTE: stored as JSON `{"causation_id": …, "correlation_id": …, <extra keys>: "…"}`; keys are
/// part of the stored format and must not be renamed.
public struct Metadata: Hashable, Sendable {
    /// The id of the event (or command) that caused this event.
    public var causationId: UUID?
    /// The id shared by every event of one conversation (the first cause's id).
    public var correlationId: UUID?
    /// Further string values (e.g. a user id); keys `causation_id` and `correlation_id` are reserved.
    public var extra: [String: String]

    /// Makes metadata.
    public init(causationId: UUID? = nil, correlationId: UUID? = nil, extra: [String: String] = [:]) {
        self.causationId = causationId
        self.correlationId = correlationId
        self.extra = extra
    }

    /// Metadata for an event caused by `event`: causation is that event, correlation is carried over.
    public static func causedBy(_ event: RecordedEvent) -> Metadata {
        Metadata(causationId: event.id, correlationId: event.metadata.correlationId ?? event.id)
    }
}

extension Metadata: Codable {
    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
        static let causation = Key(stringValue: "causation_id")
        static let correlation = Key(stringValue: "correlation_id")
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        causationId = try c.decodeIfPresent(UUID.self, forKey: .causation)
        correlationId = try c.decodeIfPresent(UUID.self, forKey: .correlation)
        var extra: [String: String] = [:]
        for key in c.allKeys where key.stringValue != Key.causation.stringValue && key.stringValue != Key.correlation.stringValue {
            if let value = try? c.decode(String.self, forKey: key) { extra[key.stringValue] = value }
        }
        self.extra = extra
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encodeIfPresent(causationId?.lowercasedString, forKey: .causation)
        try c.encodeIfPresent(correlationId?.lowercasedString, forKey: .correlation)
        for (k, v) in extra where k != Key.causation.stringValue && k != Key.correlation.stringValue {
            try c.encode(v, forKey: Key(stringValue: k))
        }
    }

    /// The metadata as stored: compact JSON with sorted keys.
    public func jsonData() -> Data {
        // The common shapes (nothing, or the two ids) written directly; the same bytes the encoder writes.
        if extra.isEmpty {
            switch (causationId, correlationId) {
            case (nil, nil): return Data("{}".utf8)
            case (let causation?, let correlation?):
                return Data(
                    "{\"causation_id\":\"\(causation.lowercasedString)\",\"correlation_id\":\"\(correlation.lowercasedString)\"}".utf8)
            default: break
            }
        }
        // Encoding [String: String?]-shaped values cannot fail.
        return (try? Self.encoder.encode(self)) ?? Data("{}".utf8)
    }

    /// Reads stored metadata; unreadable metadata is an error, never silently dropped.
    public static func fromJSON(_ data: Data) throws -> Metadata {
        // Most events carry no metadata, or exactly the two ids as ``jsonData()`` writes them: read those
        // without the decoder.
        if data.count == 2, data.first == UInt8(ascii: "{"), data.last == UInt8(ascii: "}") { return Metadata() }
        if data.count == twoIdsLength, let metadata = twoIds(data) { return metadata }
        return try decoder.decode(Metadata.self, from: data)
    }

    private static let causationPrefix = Array("{\"causation_id\":\"".utf8)
    private static let correlationInfix = Array("\",\"correlation_id\":\"".utf8)
    private static let twoIdsLength = causationPrefix.count + 36 + correlationInfix.count + 36 + 2

    /// `{"causation_id":"<uuid>","correlation_id":"<uuid>"}`, or nil for any other text.
    private static func twoIds(_ data: Data) -> Metadata? {
        let bytes = [UInt8](data)
        let second = causationPrefix.count + 36 + correlationInfix.count
        guard bytes.starts(with: causationPrefix), Array(bytes[(causationPrefix.count + 36)..<second]) == correlationInfix,
            bytes[second + 36] == UInt8(ascii: "\""), bytes[second + 37] == UInt8(ascii: "}"),
            let causation = UUID(text: String(decoding: bytes[causationPrefix.count..<(causationPrefix.count + 36)], as: UTF8.self)),
            let correlation = UUID(text: String(decoding: bytes[second..<(second + 36)], as: UTF8.self))
        else { return nil }
        return Metadata(causationId: causation, correlationId: correlation)
    }

    private static let decoder = JSONDecoder()

    // NOTE: stored format — metadata was stored with `/` escaped.
    private static let encoder = StoredJSON.encoder(slashes: .escaped)
}
