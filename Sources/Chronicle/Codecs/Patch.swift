/// A field of a partial update: left alone, cleared, or set. Stored (and read) as JSON merge patches
/// are: an absent key leaves it alone, `null` clears it, a value sets it — a `Codable` type with `Patch`
/// properties gets that coding from its synthesized conformance.
public enum Patch<Value: Sendable & Equatable>: Sendable, Equatable {
    case unchanged
    case cleared
    case set(Value)

    /// Applies the patch to a field.
    public func apply(to field: inout Value?) {
        switch self {
        case .unchanged: break
        case .cleared: field = nil
        case .set(let value): field = value
        }
    }
}

extension Patch: Encodable where Value: Encodable {
    /// `null` or the value (an unchanged field is left out by its container: see the extension on
    /// `KeyedEncodingContainer`).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .unchanged, .cleared: try container.encodeNil()
        case .set(let value): try container.encode(value)
        }
    }
}

extension Patch: Decodable where Value: Decodable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        self = container.decodeNil() ? .cleared : .set(try container.decode(Value.self))
    }
}

extension KeyedEncodingContainer {
    /// Leaves an unchanged field out.
    public mutating func encode<Value: Encodable>(_ patch: Patch<Value>, forKey key: Key) throws {
        if patch != .unchanged { try encode(patch as Patch<Value>?, forKey: key) }
    }
}

extension KeyedDecodingContainer {
    /// An absent field is unchanged.
    public func decode<Value: Decodable>(_ type: Patch<Value>.Type, forKey key: Key) throws -> Patch<Value> {
        contains(key) ? try decode(Patch<Value>?.self, forKey: key) ?? .cleared : .unchanged
    }
}
