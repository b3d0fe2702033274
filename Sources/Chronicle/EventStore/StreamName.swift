import Foundation

/// The name of an event stream: a category and an id, written `category-id` (e.g. `todo-5f0c…`).
///
/// The category is what category reads (`todo-*`) and subscriptions filter on; the id names one
/// entity inside it. Both parts are validated so that a name is safe in a URL, a log line and SQL.
///
/// - Category: 1…64 characters, ASCII letters, digits and `_`, starting with a letter. No `-`:
///   the first `-` of a stream name ends the category.
/// - Id: 1…128 characters, ASCII letters, digits and `_ . : @ -`.
public struct StreamName: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The category, the part before the first `-`.
    public let category: String
    /// The entity id, the part after the first `-`.
    public let id: String
    /// Whether the name has a `-` at all: a protocol name (``init(protocolName:)``) may have none, and
    /// then it is its category alone.
    private let hasDash: Bool

    /// The longest accepted category.
    public static let maxCategoryLength = 64
    /// The longest accepted id.
    public static let maxIdLength = 128

    /// Makes a stream name from its parts, validating both.
    public init(category: String, id: String) throws(StreamNameError) {
        try Self.validateCategory(category)
        guard !id.isEmpty else { throw StreamNameError(name: "\(category)-", reason: "the id is empty") }
        guard id.utf8.count <= Self.maxIdLength else {
            throw StreamNameError(name: "\(category)-\(id)", reason: "the id is longer than \(Self.maxIdLength) characters")
        }
        guard id.utf8.allSatisfy(Self.isIdByte) else {
            throw StreamNameError(name: "\(category)-\(id)", reason: "the id may hold only letters, digits and _ . : @ -")
        }
        self.category = category
        self.id = id
        self.hasDash = true
    }

    /// Parses `category-id`.
    public init(_ string: String) throws(StreamNameError) {
        guard let dash = string.firstIndex(of: "-") else {
            throw StreamNameError(name: string, reason: "a stream name is category-id")
        }
        try self.init(category: String(string[..<dash]), id: String(string[string.index(after: dash)...]))
    }

    /// Checks a category name (as used by category reads).
    public static func validateCategory(_ category: String) throws(StreamNameError) {
        guard let first = category.utf8.first else { throw StreamNameError(name: category, reason: "the category is empty") }
        guard category.utf8.count <= maxCategoryLength else {
            throw StreamNameError(name: category, reason: "the category is longer than \(maxCategoryLength) characters")
        }
        guard isLetter(first), category.utf8.allSatisfy({ isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") }) else {
            throw StreamNameError(name: category, reason: "the category may hold only letters, digits and _, starting with a letter")
        }
    }

    /// The full name, `category-id`.
    public var description: String { hasDash ? "\(category)-\(id)" : category }

    public static func < (lhs: StreamName, rhs: StreamName) -> Bool { lhs.description < rhs.description }

    private static func isLetter(_ b: UInt8) -> Bool { (b >= 65 && b <= 90) || (b >= 97 && b <= 122) }
    private static func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
    private static func isIdByte(_ b: UInt8) -> Bool {
        isLetter(b) || isDigit(b) || b == UInt8(ascii: "_") || b == UInt8(ascii: ".") || b == UInt8(ascii: ":")
            || b == UInt8(ascii: "@") || b == UInt8(ascii: "-")
    }
}

/// A stream name that breaks the rules of ``StreamName``.
public struct StreamNameError: Error, Equatable, CustomStringConvertible {
    /// The rejected name (possibly partial).
    public let name: String
    /// Which rule it breaks.
    public let reason: String
    public var description: String { "invalid stream name \"\(name.prefix(80))\": \(reason)" }
}

extension StreamName: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let string = try container.decode(String.self)
        do { try self.init(string) } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A validated category. A stream of it named by a UUID needs no further check, since a UUID's
/// characters are always allowed.
public struct StreamCategory: Hashable, Sendable, CustomStringConvertible {
    /// The category's name.
    public let name: String

    /// Validates `name` as a category.
    public init(_ name: String) throws(StreamNameError) {
        try StreamName.validateCategory(name)
        self.name = name
    }

    /// The stream `name-<uuid in lowercase>`.
    public func stream(_ id: UUID) -> StreamName {
        StreamName(validatedCategory: name, id: id.lowercasedString)
    }

    public var description: String { name }
}

extension StreamName {
    /// A name a store validated when it was appended, read back: split at its first dash, not checked
    /// again (reads pay for it on every row). Never for names from outside the store.
    public init(storedName name: String) {
        // By byte: a dash is one byte in UTF-8, and no grapheme breaking is needed to find it.
        if let dash = name.utf8.firstIndex(of: UInt8(ascii: "-")) {
            self.init(validatedCategory: String(name[..<dash]), id: String(name[name.index(after: dash)...]))
        } else {
            self.init(validatedCategory: name, id: "", hasDash: false)
        }
    }

    /// The longest name a protocol client may give, in UTF-8 bytes.
    public static let maxProtocolNameLength = 1_024

    /// Any name a client of a foreign protocol (KurrentDB's) gives: 1…1,024 bytes of UTF-8 without a NUL
    /// byte, stored exactly. Its category is the part before the first `-` (the whole name if it has
    /// none), as KurrentDB's `$ce-` streams read it; a name starting with `$` is a system stream.
    /// Applications' names (``init(_:)``) are such names too.
    public init(protocolName name: String) throws(StreamNameError) {
        guard !name.isEmpty else { throw StreamNameError(name: name, reason: "the name is empty") }
        guard name.utf8.count <= Self.maxProtocolNameLength else {
            throw StreamNameError(name: name, reason: "the name is longer than \(Self.maxProtocolNameLength) bytes")
        }
        guard !name.utf8.contains(0) else { throw StreamNameError(name: name, reason: "the name holds a NUL character") }
        self.init(storedName: name)
    }

    /// Whether this is a system stream (its name starts with `$`): KurrentDB's metadata streams `$$…`
    /// and the like. No application names one.
    public var isSystem: Bool { category.utf8.first == UInt8(ascii: "$") }

    fileprivate init(validatedCategory category: String, id: String, hasDash: Bool = true) {
        self.category = category
        self.id = id
        self.hasDash = hasDash
    }
}

extension String {
    /// Whether this is a short, plain identifier a client may choose (an account, a cart, a customer):
    /// 1 to 64 ASCII letters, digits, `_`, `-` or `.`.
    public var isShortIdentifier: Bool {
        (1...64).contains(utf8.count)
            && utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
                    || byte == UInt8(ascii: ".")
            }
    }
}
