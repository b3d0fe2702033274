/// A value bound to a `?` placeholder of a ``SQLStatement``, or read back from a row.
public enum SQLValue: Hashable, Sendable {
    case null
    case integer(Int64)
    case text(String)

    /// The text, when this is text.
    public var text: String? {
        if case .text(let s) = self { s } else { nil }
    }

    /// The integer, when this is one.
    public var integer: Int64? {
        if case .integer(let i) = self { i } else { nil }
    }
}

extension SQLValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }

    /// Text, or null for nil.
    public static func text(_ value: String?) -> SQLValue { value.map(SQLValue.text) ?? .null }
}

/// One SQL statement with `?` placeholders, in the dialect SQLite and PostgreSQL share
/// (each backend translates the placeholders to its own).
public struct SQLStatement: Hashable, Sendable {
    /// The SQL text, `?` for each argument.
    public var sql: String
    /// The arguments, in order.
    public var arguments: [SQLValue]

    /// Makes a statement.
    public init(_ sql: String, _ arguments: [SQLValue] = []) {
        self.sql = sql
        self.arguments = arguments
    }
}

extension SQLStatement {
    /// Refuses, loudly, a value that some backend cannot keep exactly: text holding U+0000 (PostgreSQL's
    /// text cannot hold it; SQLite would cut the value there). Every backend's projection checks this
    /// before it runs a statement, so a read model never silently alters a value — the edge should have
    /// refused it earlier with a 400 (invariant 9).
    public func checkedForEveryBackend() throws(SQLValueError) -> SQLStatement {
        for (index, argument) in arguments.enumerated() {
            if case .text(let text) = argument, text.utf8.contains(0) { throw .nulCharacter(argument: index + 1) }
        }
        return self
    }
}

/// A value a read model cannot store on every backend.
public enum SQLValueError: Error, Equatable, CustomStringConvertible {
    /// A text argument (1-based) holds U+0000.
    case nulCharacter(argument: Int)

    public var description: String {
        switch self {
        case .nulCharacter(let n): "argument \(n) holds a NUL character (U+0000), which not every backend can store"
        }
    }
}

/// One row of a query: column name to value.
public typealias SQLRow = [String: SQLValue]

/// A read model written as SQL, so that one definition runs on every SQL backend: the backend's
/// projection runs the statements of each batch and writes the checkpoint in the same transaction.
public protocol SQLReadModel: Sendable {
    /// The projection's unique, stable name (also its checkpoint's name).
    var name: String { get }
    /// Creates the read model's tables if they are missing.
    var createStatements: [SQLStatement] { get }
    /// Drops the read model's tables.
    var dropStatements: [SQLStatement] { get }
    /// What applying `event` writes (none for events it does not care about).
    func statements(for event: RecordedEvent) throws -> [SQLStatement]
}

/// Something that answers read-model queries: a backend's database.
public protocol SQLQuerying: Sendable {
    /// The rows `statement` selects.
    func rows(_ statement: SQLStatement) async throws -> [SQLRow]
}
