import Foundation

/// A query of one read model, named by its type, whose rows decode into `Row`: every stored property of
/// `Row` is a column the query selects (by its coding key), and a column that is missing or of another
/// kind is an error (``SQLRowError``), never a silent default. `nil` reads SQL `NULL`.
///
/// ```swift
/// struct Balance: Decodable, Sendable { let balance: Decimal }
/// static func balance(of account: String) -> ReadModelQuery<AccountBalances, Balance> {
///     ReadModelQuery("SELECT balance FROM bank_balances WHERE account_id = ?", [.text(account)])
/// }
/// ```
public struct ReadModelQuery<Model: SQLReadModel, Row: Decodable>: Sendable {
    /// The statement.
    public let statement: SQLStatement
    /// The read model's name when `Model` has several (one a list); nil: the one `Model` there is.
    public let readModel: String?

    /// A query of `Model`'s one read model.
    public init(_ sql: String, _ arguments: [SQLValue] = []) {
        self.statement = SQLStatement(sql, arguments)
        self.readModel = nil
    }

    /// A query of the read model `name`, one of several of type `Model`.
    public init(_ sql: String, _ arguments: [SQLValue] = [], readModel name: String) {
        self.statement = SQLStatement(sql, arguments)
        self.readModel = name
    }
}

extension SQLQuerying {
    /// The rows `query` selects, decoded.
    /// - Throws: ``SQLRowError`` for a column that is missing or of another kind than its field.
    public func rows<Model, Row>(_ query: ReadModelQuery<Model, Row>) async throws -> [Row] {
        try await rows(query.statement).map { try SQLRowDecoding.decode(Row.self, from: $0) }
    }
}

/// A text column holding JSON (a list, a nested value), decoded; in a response, the value itself.
public struct JSONColumn<Value: Codable & Sendable>: Codable, Sendable {
    /// The decoded value.
    public let value: Value

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            value = try JSONDecoder().decode(Value.self, from: Data(text.utf8))
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "the column does not hold \(Value.self) as JSON"))
        }
    }

    public func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
}

/// Why a row did not decode.
public struct SQLRowError: Error, CustomStringConvertible {
    /// The column.
    public let column: String
    /// What is wrong with it.
    public let reason: String

    public var description: String { "column \(column): \(reason)" }
}

/// Decodes a row into a `Decodable` type.
public enum SQLRowDecoding {
    /// `row` as a `Row`.
    /// - Throws: ``SQLRowError`` naming the column that is missing or mistyped.
    public static func decode<Row: Decodable>(_ type: Row.Type, from row: SQLRow) throws -> Row {
        do {
            return try Row(from: RowDecoder(row: row))
        } catch let error as DecodingError {
            switch error {
            case .keyNotFound(let key, _): throw SQLRowError(column: key.stringValue, reason: "the query does not select it")
            case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
                throw SQLRowError(column: context.codingPath.first?.stringValue ?? "?", reason: context.debugDescription)
            @unknown default: throw error
            }
        }
    }
}

private struct RowDecoder: Decoder {
    let row: SQLRow
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(RowContainer<Key>(row: row))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch([Any].self, .init(codingPath: [], debugDescription: "a row is decoded by its column names"))
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        throw DecodingError.typeMismatch(SQLValue.self, .init(codingPath: [], debugDescription: "a row is decoded by its column names"))
    }
}

private struct RowContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let row: SQLRow
    var codingPath: [any CodingKey] { [] }
    var allKeys: [Key] { row.keys.compactMap(Key.init(stringValue:)) }

    /// Every field is a column the query must select: an optional field of a column not selected is an
    /// error too (`decodeIfPresent` asks here first, then `decodeNil`, which throws for it).
    func contains(_ key: Key) -> Bool { true }

    func value(_ key: Key) throws -> SQLValue {
        guard let value = row[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: [key], debugDescription: "the query does not select it"))
        }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool { try value(key) == .null }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try ValueDecoder(value: try value(key), key: key).decode(T.self)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        throw DecodingError.typeMismatch(type, .init(codingPath: [key], debugDescription: "a column is one value (use JSONColumn for JSON)"))
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch([Any].self, .init(codingPath: [key], debugDescription: "a column is one value (use JSONColumn for JSON)"))
    }

    func superDecoder() throws -> any Decoder { RowDecoder(row: row) }
    func superDecoder(forKey key: Key) throws -> any Decoder { ValueDecoder(value: try value(key), key: key) }
}

/// One column's value.
private struct ValueDecoder: Decoder, SingleValueDecodingContainer {
    let value: SQLValue
    let key: any CodingKey
    var codingPath: [any CodingKey] { [key] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<K: CodingKey>(keyedBy type: K.Type) throws -> KeyedDecodingContainer<K> {
        throw mismatch(type, "a column is one value (use JSONColumn for JSON)")
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { throw mismatch([Any].self, "a column is one value (use JSONColumn for JSON)") }
    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    func mismatch(_ type: Any.Type, _ reason: String? = nil) -> DecodingError {
        DecodingError.typeMismatch(type, .init(codingPath: [key], debugDescription: reason ?? "\(type) expected, the column holds \(value)"))
    }

    func decodeNil() -> Bool { value == .null }

    func decode(_ type: Bool.Type) throws -> Bool {
        guard case .bool(let b) = value else { throw mismatch(type) }
        return b
    }

    func decode(_ type: String.Type) throws -> String {
        guard case .text(let s) = value else { throw mismatch(type) }
        return s
    }

    func decode(_ type: Double.Type) throws -> Double {
        guard case .double(let d) = value else { throw mismatch(type) }
        return d
    }

    func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }

    func decode(_ type: Int64.Type) throws -> Int64 {
        guard case .integer(let i) = value else { throw mismatch(type) }
        return i
    }

    func integer<I: FixedWidthInteger>(_ type: I.Type) throws -> I {
        guard let i = I(exactly: try decode(Int64.self)) else { throw mismatch(type, "the column's value does not fit in \(type)") }
        return i
    }

    func decode(_ type: Int.Type) throws -> Int { try integer(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        switch value {
        case .decimal(let d) where type == Decimal.self: if let d = d as? T { return d }
        case .timestamp(let t) where type == SQLTimestamp.self: if let t = t as? T { return t }
        case .timestamp(let t) where type == Date.self: if let date = t.date as? T { return date }
        default: break
        }
        if type == Decimal.self || type == SQLTimestamp.self || type == Date.self { throw mismatch(type) }
        return try T(from: self)
    }
}

/// A SQL read model of one stream category: it is given that category's events already decoded, and
/// nothing else (no `guard` on the category, no decoding in each read model).
///
/// ```swift
/// struct AccountBalances: CategoryReadModel {
///     let name = "bank_balances", category = Account.category
///     func statements(for event: Account.Event, _ recorded: RecordedEvent) throws -> [SQLStatement] { … }
/// }
/// ```
public protocol CategoryReadModel: SQLReadModel {
    /// The category's events.
    associatedtype Event: Sendable
    /// The stream category it reads.
    var category: String { get }
    /// The domain event of `recorded` (by default ``JSONEventCodec``'s, for a ``CodableEvent``; a read
    /// model that shares decodings with others, or upcasts, says how).
    func decode(_ recorded: RecordedEvent) throws -> Event
    /// What applying `event`, recorded as `recorded`, writes.
    func statements(for event: Event, _ recorded: RecordedEvent) throws -> [SQLStatement]
}

extension CategoryReadModel {
    public func statements(for recorded: RecordedEvent) throws -> [SQLStatement] {
        guard recorded.stream.category == category else { return [] }
        return try statements(for: try decode(recorded), recorded)
    }
}

extension CategoryReadModel where Event: CodableEvent {
    public func decode(_ recorded: RecordedEvent) throws -> Event { try JSONEventCodec<Event>().decode(recorded) }
}

/// A timestamp column in a row type; in JSON, its ISO 8601 text.
extension SQLTimestamp: CodableAsText {
    /// The timestamp of ISO 8601 `text` (``init(iso8601:)``).
    public init?(_ text: String) { self.init(iso8601: text) }
}
