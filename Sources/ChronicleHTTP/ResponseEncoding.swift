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

/// A value being built: filled once by whoever encodes into it. An object's members and an array's
/// elements are kept in the slot itself and grown in place, so a body of n members costs O(n).
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
        /// ``elements``.
        case array
        /// ``members``.
        case object
    }

    var value = Value.empty
    private(set) var elements: [Slot] = []
    private(set) var members: [String: Slot] = [:]

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
        case .array: try c.encode(elements)
        case .object: try c.encode(members)
        }
    }

    /// The slot, made an object if it is not one yet.
    func object() -> Slot {
        if case .object = value {} else { (value, members) = (.object, [:]) }
        return self
    }

    /// The slot, made an (empty) array.
    func array() -> Slot {
        (value, elements) = (.array, [])
        return self
    }

    func child(_ key: String) -> Slot {
        let slot = Slot()
        members[key] = slot
        return slot
    }

    func appended() -> Slot {
        let slot = Slot()
        elements.append(slot)
        return slot
    }

    var count: Int { elements.count }

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
        if case .array = slot.value {} else { _ = slot.array() }
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
        Unkeyed(slot: slot.child(key.stringValue).array(), codingPath: codingPath + [key])
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
        Unkeyed(slot: slot.appended().array(), codingPath: codingPath)
    }

    mutating func superEncoder() -> any Encoder { TreeEncoder(slot: slot.appended(), codingPath: codingPath) }
}

private struct Single: SingleValueEncodingContainer {
    let slot: Slot
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { slot.value = .null }
    mutating func encode<T: Encodable>(_ value: T) throws { try put(value, into: slot, at: codingPath) }
}
