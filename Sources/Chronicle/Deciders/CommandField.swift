/// How one field of a command is read from its JSON body, in the contract's own words when it is missing
/// or wrong: a command declares the field `@Field<Rule> var name: Value` and its synthesized `Decodable`
/// reads it through the rule — no hand-written decoding, and the fields are checked in the order they
/// are declared.
///
/// ```swift
/// enum AccountID: FieldRule {
///     static func read(_ field: String, _ value: JSONValue?) throws(CommandFieldError) -> String {
///         guard case .string(let id)? = value, id.isShortIdentifier else { throw CommandFieldError("\(field) must be …") }
///         return id
///     }
/// }
/// struct CreateAccount: NamedCommand {
///     static let typeName = "CreateAccount"
///     @Field<AccountID> var accountId: String
///     enum CodingKeys: String, CodingKey { case accountId = "account_id" }
/// }
/// ```
public protocol FieldRule {
    /// The value the field holds.
    associatedtype Value: Codable & Sendable
    /// The value of the field `field` (nil: the body has none).
    /// - Throws: ``CommandFieldError`` saying what is wrong, in the contract's words.
    static func read(_ field: String, _ value: JSONValue?) throws(CommandFieldError) -> Value
}

/// A field read by `Rule`; it encodes as its value (an outbox body keeps its plain form).
@propertyWrapper
public struct Field<Rule: FieldRule>: Codable, Sendable {
    public var wrappedValue: Rule.Value

    public init(wrappedValue: Rule.Value) { self.wrappedValue = wrappedValue }

    /// Read on its own (not as a field of an object): by the name of its coding key.
    public init(from decoder: any Decoder) throws {
        let value = try? JSONValue(from: decoder)
        wrappedValue = try Rule.read(decoder.codingPath.last?.stringValue ?? "value", value)
    }

    public func encode(to encoder: any Encoder) throws { try wrappedValue.encode(to: encoder) }
}

extension KeyedDecodingContainer {
    /// A ``Field`` of an object: read by its rule, whether it is there or not.
    public func decode<Rule>(_ type: Field<Rule>.Type, forKey key: Key) throws -> Field<Rule> {
        Field(wrappedValue: try Rule.read(key.stringValue, contains(key) ? try decode(JSONValue.self, forKey: key) : nil))
    }
}

/// Why a command's field was refused, in the contract's words (`amount must be a positive decimal`).
public struct CommandFieldError: Error, Equatable, CustomStringConvertible {
    public let description: String

    /// The refusal `description`.
    public init(_ description: String) { self.description = description }
}
