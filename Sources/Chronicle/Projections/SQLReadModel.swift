import Foundation

/// A value bound to a `?` placeholder of a ``SQLStatement``, or read back from a row: the same value
/// comes back from every backend (`SQLValueContract` in ChronicleTesting checks each one).
///
/// Declare columns with the shared dialect's types and each kind round-trips exactly:
///
/// | value | column type | SQLite keeps it as | PostgreSQL |
/// |---|---|---|---|
/// | ``integer(_:)`` | `BIGINT` | INTEGER | `int8` |
/// | ``double(_:)`` | `DOUBLE PRECISION` | REAL | `float8` |
/// | ``decimal(_:)`` | `DECIMAL` or `NUMERIC(p, s)` | the decimal's digits, as a BLOB (exact) | `numeric` |
/// | ``bool(_:)`` | `BOOLEAN` | 0 or 1, read back by the column's declared type | `bool` |
/// | ``text(_:)-enum.case`` | `TEXT` | TEXT | `text` |
/// | ``timestamp(_:)`` | `TIMESTAMPTZ` | ISO 8601 text in UTC, to the microsecond | `timestamptz` |
/// | ``null`` | any | NULL | NULL |
///
/// SQLite has no exact decimal arithmetic and no boolean type: compute money in Swift (or in integer
/// minor units) rather than in SQL, and read a boolean from a `BOOLEAN` column, not from an expression.
/// PostgreSQL widens some aggregates (`SUM` of a `BIGINT` is `numeric`): `CAST` them to the kind wanted.
public enum SQLValue: Hashable, Sendable {
    case null
    case integer(Int64)
    case double(Double)
    /// An exact decimal number (money): never a binary floating-point value on the way.
    case decimal(Decimal)
    case bool(Bool)
    case text(String)
    case timestamp(SQLTimestamp)

    /// The text, when this is text.
    public var text: String? {
        if case .text(let s) = self { s } else { nil }
    }

    /// The integer, when this is one.
    public var integer: Int64? {
        if case .integer(let i) = self { i } else { nil }
    }

    /// The double, when this is one.
    public var double: Double? {
        if case .double(let d) = self { d } else { nil }
    }

    /// The decimal, when this is one.
    public var decimal: Decimal? {
        if case .decimal(let d) = self { d } else { nil }
    }

    /// The boolean, when this is one.
    public var bool: Bool? {
        if case .bool(let b) = self { b } else { nil }
    }

    /// The timestamp, when this is one.
    public var timestamp: SQLTimestamp? {
        if case .timestamp(let t) = self { t } else { nil }
    }
}

extension SQLValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }

    /// Text, or null for nil.
    public static func text(_ value: String?) -> SQLValue { value.map(SQLValue.text) ?? .null }
}

/// A point in time to the microsecond (what PostgreSQL's `timestamptz` keeps), so that it reads back
/// equal on every backend.
public struct SQLTimestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Microseconds since 1970-01-01T00:00:00Z.
    public var microsecondsSince1970: Int64

    /// The timestamp `microseconds` after 1970-01-01T00:00:00Z.
    public init(microsecondsSince1970 microseconds: Int64) {
        microsecondsSince1970 = microseconds
    }

    /// `date`, rounded to the nearest microsecond.
    public init(_ date: Date) {
        microsecondsSince1970 = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    /// The timestamp as a `Date`.
    public var date: Date { Date(timeIntervalSince1970: Double(microsecondsSince1970) / 1_000_000) }

    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ`, which sorts as the timestamps do (years 0001 to 9999).
    public var description: String {
        let (seconds, micros) = microsecondsSince1970.floorDividedAndModulo(1_000_000)
        let (days, secondOfDay) = seconds.floorDividedAndModulo(86_400)
        let (year, month, day) = Self.civil(fromDays: days)
        let (h, m, s) = (secondOfDay / 3600, secondOfDay / 60 % 60, secondOfDay % 60)
        func pad(_ n: Int64, _ width: Int) -> String {
            let digits = String(n)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(h, 2)):\(pad(m, 2)):\(pad(s, 2)).\(pad(micros, 6))Z"
    }

    /// Reads ``description``'s form (`YYYY-MM-DDTHH:MM:SS[.f…]Z`, or a space for `T`, or `+00:00` for `Z`).
    public init?(iso8601 text: String) {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int64? {
            guard range.upperBound <= bytes.count, !range.isEmpty else { return nil }
            var value: Int64 = 0
            for byte in bytes[range] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            return value
        }
        guard bytes.count >= 20, bytes[4] == 45, bytes[7] == 45, bytes[10] == 84 || bytes[10] == 32, bytes[13] == 58, bytes[16] == 58,
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let h = number(11..<13), let m = number(14..<16), let s = number(17..<19),
            (1...12).contains(month), (1...31).contains(day), h < 24, m < 60, s < 60
        else { return nil }
        var index = 19
        var micros: Int64 = 0
        if bytes[index] == 46 {
            index += 1
            var digits = 0
            while index < bytes.count, (48...57).contains(bytes[index]) {
                if digits < 6 { micros = micros * 10 + Int64(bytes[index] - 48) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            // Beyond six digits the rest is dropped (truncated to the microsecond); a range digits..<6 with
            // digits > 6 would trap, so the padding counts up instead.
            while digits < 6 { micros *= 10; digits += 1 }
        }
        let zone = String(decoding: bytes[index...], as: UTF8.self)
        guard zone == "Z" || zone == "+00:00" || zone == "+00" else { return nil }
        let days = Self.days(fromCivil: year, month, day)
        microsecondsSince1970 = ((days * 86_400 + h * 3600 + m * 60 + s) * 1_000_000) + micros
    }

    public static func < (a: SQLTimestamp, b: SQLTimestamp) -> Bool { a.microsecondsSince1970 < b.microsecondsSince1970 }

    // Howard Hinnant's days-from-civil algorithms (proleptic Gregorian calendar, UTC).
    static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension Int64 {
    /// The quotient rounded down, and the remainder with the divisor's sign.
    fileprivate func floorDividedAndModulo(_ divisor: Int64) -> (Int64, Int64) {
        let remainder = self % divisor
        return remainder < 0 ? (self / divisor - 1, remainder + divisor) : (self / divisor, remainder)
    }
}

extension Decimal {
    /// The decimal's canonical digits (`-12.5`, `0.3`): the same decimal always gives the same text, so
    /// stored decimals compare equal in SQL where they are equal numbers.
    public var canonicalText: String {
        // Parsing normalises (0.30 becomes 3 × 10⁻¹); arithmetic results may not be normalised yet.
        Decimal(string: description)?.description ?? description
    }
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
    /// The read model's tables, declared: ``createStatements`` and ``dropStatements`` follow from them.
    /// None by default, for a read model that writes its own DDL in those two instead.
    var tables: [SQLTable] { get }
    /// Creates the read model's tables if they are missing (by default, each of ``tables`` with its indexes).
    var createStatements: [SQLStatement] { get }
    /// Drops the read model's tables (by default, each of ``tables``, the last first).
    var dropStatements: [SQLStatement] { get }
    /// What applying `event` writes (none for events it does not care about).
    func statements(for event: RecordedEvent) throws -> [SQLStatement]
}

extension SQLReadModel {
    public var tables: [SQLTable] { [] }
    public var createStatements: [SQLStatement] { tables.flatMap(\.createStatements) }
    public var dropStatements: [SQLStatement] { tables.reversed().map(\.dropStatement) }
}

/// A read model's table: its name, its columns and constraints as SQL that every backend runs, and its
/// indexes. Read-model tables are rebuilt from the log, so their shape may change freely.
public struct SQLTable: Sendable, Hashable {
    /// The table's name.
    public var name: String
    /// The column and constraint definitions, as between the parentheses of `CREATE TABLE`.
    public var columns: String
    /// Each index's name and the columns it covers (`"customer_id, requested_position"`).
    public var indexes: [Index]

    /// An index of the table.
    public struct Index: Sendable, Hashable {
        /// The index's name.
        public var name: String
        /// The columns it covers, as between the parentheses of `CREATE INDEX … ON table (…)`.
        public var columns: String

        /// The index `name` on `columns`.
        public init(_ name: String, on columns: String) { (self.name, self.columns) = (name, columns) }
    }

    /// The table `name` with `columns` and `indexes`.
    public init(_ name: String, _ columns: String, indexes: [Index] = []) {
        (self.name, self.columns, self.indexes) = (name, columns, indexes)
    }

    /// `CREATE TABLE IF NOT EXISTS`, then each index.
    public var createStatements: [SQLStatement] {
        [SQLStatement("CREATE TABLE IF NOT EXISTS \(name) (\(columns))")]
            + indexes.map { SQLStatement("CREATE INDEX IF NOT EXISTS \($0.name) ON \(name) (\($0.columns))") }
    }

    /// `DROP TABLE IF EXISTS` (its indexes go with it).
    public var dropStatement: SQLStatement { SQLStatement("DROP TABLE IF EXISTS \(name)") }
}

/// Something that answers read-model queries: a backend's database.
public protocol SQLQuerying: Sendable {
    /// The rows `statement` selects.
    func rows(_ statement: SQLStatement) async throws -> [SQLRow]
}
