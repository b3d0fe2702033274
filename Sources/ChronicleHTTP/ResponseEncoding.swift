import Foundation

/// The one rule for response bodies: every field is written, a missing one as `null` — a synthesized
/// `Encodable` needs no hand-written `encode(to:)` to keep a field that has no value. Keys are sorted
/// and `/` is not escaped, as in ``JSONBody``; numbers, strings, dates and decimals are written exactly
/// as `JSONEncoder` writes them.
enum ResponseEncoding {
    static func encode(_ value: some Encodable) throws -> Data {
        let root = Slot()
        try value.encode(to: TreeEncoder(slot: root, codingPath: []))
        return try JSONBody.encoder.encode(root)
    }
}

/// A value being built: filled once by whoever encodes into it.
private final class Slot: Encodable {
    enum Value {
        case empty
        case null
        case bool(Bool)
        case int(Int64)
        case uint(UInt64)
        case double(Double)
        case string(String)
        /// A value JSONEncoder writes its own way (Decimal, Date, URL, Data).
        case leaf(any Encodable)
        case array([Slot])
        case object([String: Slot])
    }

    var value = Value.empty

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch value {
        case .empty: try c.encode([String: Slot]())
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(i)
        case .uint(let u): try c.encode(u)
        case .double(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .leaf(let leaf): try c.encode(Leaf(value: leaf))
        case .array(let slots): try c.encode(slots)
        case .object(let slots): try c.encode(slots)
        }
    }

    /// The slot's object, made one if it is not yet.
    func object() -> Slot {
        if case .object = value {} else { value = .object([:]) }
        return self
    }

    func child(_ key: String) -> Slot {
        let slot = Slot()
        if case .object(var slots) = value {
            slots[key] = slot
            value = .object(slots)
        }
        return slot
    }

    func appended() -> Slot {
        let slot = Slot()
        if case .array(var slots) = value {
            slots.append(slot)
            value = .array(slots)
        }
        return slot
    }

    var count: Int {
        if case .array(let slots) = value { slots.count } else { 0 }
    }

    private struct Leaf: Encodable {
        let value: any Encodable
        func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            try c.encode(value)
        }
    }
}

private struct TreeEncoder: Encoder {
    let slot: Slot
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(Keyed<Key>(slot: slot.object(), codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array = slot.value {} else { slot.value = .array([]) }
        return Unkeyed(slot: slot, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { Single(slot: slot, codingPath: codingPath) }
}

/// Puts `value` into `slot`: primitives and JSONEncoder's own leaves directly, the rest by encoding.
private func put(_ value: some Encodable, into slot: Slot, at path: [any CodingKey]) throws {
    switch value {
    case let v as Bool: slot.value = .bool(v)
    case let v as String: slot.value = .string(v)
    case let v as Double: slot.value = .double(v)
    case let v as Float: slot.value = .double(Double(v))
    case let v as any FixedWidthInteger & SignedInteger: slot.value = .int(Int64(v))
    case let v as any FixedWidthInteger & UnsignedInteger: slot.value = .uint(UInt64(v))
    case is Decimal, is Date, is URL, is Data: slot.value = .leaf(value)
    default: try value.encode(to: TreeEncoder(slot: slot, codingPath: path))
    }
}

private struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let slot: Slot
    let codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws { slot.child(key.stringValue).value = .null }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try put(value, into: slot.child(key.stringValue), at: codingPath + [key])
    }

    // A missing value is written, as null.
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { try present(value, key) }

    private mutating func present(_ value: (some Encodable)?, _ key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let child = slot.child(key.stringValue)
        return KeyedEncodingContainer(Keyed<NestedKey>(slot: child.object(), codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = slot.child(key.stringValue)
        child.value = .array([])
        return Unkeyed(slot: child, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder { TreeEncoder(slot: slot.child("super"), codingPath: codingPath) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { TreeEncoder(slot: slot.child(key.stringValue), codingPath: codingPath + [key]) }
}

private struct Unkeyed: UnkeyedEncodingContainer {
    let slot: Slot
    let codingPath: [any CodingKey]
    var count: Int { slot.count }

    mutating func encodeNil() throws { slot.appended().value = .null }
    mutating func encode<T: Encodable>(_ value: T) throws { try put(value, into: slot.appended(), at: codingPath) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        KeyedEncodingContainer(Keyed<NestedKey>(slot: slot.appended().object(), codingPath: codingPath))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = slot.appended()
        child.value = .array([])
        return Unkeyed(slot: child, codingPath: codingPath)
    }

    mutating func superEncoder() -> any Encoder { TreeEncoder(slot: slot.appended(), codingPath: codingPath) }
}

private struct Single: SingleValueEncodingContainer {
    let slot: Slot
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { slot.value = .null }
    mutating func encode<T: Encodable>(_ value: T) throws { try put(value, into: slot, at: codingPath) }
}
