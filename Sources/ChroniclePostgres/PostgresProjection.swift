import Chronicle
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// The ownership epoch a worker holds for one subscription. Every write of the subscription's read model
/// or checkpoint checks it in the same transaction, so a worker that lost ownership (its connection
/// dropped and another worker took over) cannot write any more.
public final class SubscriptionFence: Sendable {
    /// The subscription's name.
    public let name: String
    private let epoch = Mutex<Int64?>(nil)

    /// A fence for `name`; a subscription run without ownership (one process) passes `nil` instead.
    public init(name: String) {
        self.name = name
    }

    /// The epoch held now, if any.
    public var current: Int64? { epoch.withLock { $0 } }

    func hold(_ value: Int64?) { epoch.withLock { $0 = value } }

    /// Throws ``OwnershipLost`` unless this process still holds the current epoch; locks the owner row
    /// until the caller's transaction ends, so no takeover can commit in between.
    func check(_ connection: PostgresConnection, logger: Logger) async throws {
        guard let mine = current else { throw OwnershipLost(name: name, held: nil, current: nil) }
        var stored: Int64?
        for try await value in try await connection.query(
            "SELECT epoch FROM subscription_owners WHERE name = \(name) FOR SHARE", logger: logger
        ).decode(Int64.self) { stored = value }
        guard stored == mine else { throw OwnershipLost(name: name, held: mine, current: stored) }
    }
}

/// A write refused because another worker owns the subscription now.
public struct OwnershipLost: Error, CustomStringConvertible {
    /// The subscription.
    public let name: String
    /// The epoch this worker held (nil: none).
    public let held: Int64?
    /// The epoch stored now (nil: no owner row).
    public let current: Int64?
    public var description: String {
        "\(name) is owned by another worker now (epoch \(current.map(String.init) ?? "none"), this worker held \(held.map(String.init) ?? "none"))"
    }
}

/// A read model in PostgreSQL: a ``SQLProjection`` on ``PostgresSubscriptionStorage``, each batch fenced
/// by the worker's ownership epoch when a fence is given.
public typealias PostgresProjection<Model: SQLReadModel> = SQLProjection<Model>

extension SQLProjection {
    /// The projection of `model` in `database`, fenced by `fence` (nil: one process runs every subscription).
    public convenience init(_ model: Model, database: PostgresDatabase, fence: SubscriptionFence? = nil) {
        self.init(model, storage: PostgresSubscriptionStorage(database: database, fence: fence))
    }
}

extension PostgresConnection {
    /// Runs statements in order, `?` placeholders bound as `$1, $2, …`.
    func run(_ statements: [SQLStatement], logger: Logger) async throws {
        for statement in statements { try await execute(try statement.checkedForEveryBackend().postgresQuery, logger: logger) }
    }
}

extension SQLStatement {
    /// The statement with `$n` placeholders and its binds. (The shared dialect has no `?` inside literals.)
    var postgresQuery: PostgresQuery {
        var sql = ""
        var n = 0
        for character in self.sql {
            if character == "?" {
                n += 1
                sql += "$\(n)"
            } else {
                sql.append(character)
            }
        }
        var binds = PostgresBindings(capacity: arguments.count)
        for argument in arguments {
            switch argument {
            case .null: binds.appendNull()
            case .integer(let i): binds.append(i)
            case .double(let d): binds.append(d)
            case .decimal(let d): binds.append(NumericText(text: d.canonicalText))
            case .bool(let b): binds.append(b)
            case .text(let s): binds.append(s)
            case .timestamp(let t): binds.append(Timestamptz(timestamp: t))
            }
        }
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }
}

extension PostgresDatabase: SQLQuerying {
    /// The rows `statement` selects, each value read back by its column's type (see ``SQLValue``).
    public func rows(_ statement: SQLStatement) async throws -> [SQLRow] {
        try await withConnection { connection in
            var rows: [SQLRow] = []
            for try await row in try await connection.query(statement.postgresQuery, logger: self.logger) {
                var values: SQLRow = [:]
                for cell in row { values[cell.columnName] = try SQLValue(cell) }
                rows.append(values)
            }
            return rows
        }
    }
}

extension SQLValue {
    /// A cell (in PostgreSQL's binary format) as the value it holds.
    init(_ cell: PostgresCell) throws {
        guard var bytes = cell.bytes else {
            self = .null
            return
        }
        switch cell.dataType {
        case .int2, .int4, .int8: self = .integer(try cell.decode(Int64.self))
        case .float4, .float8: self = .double(try cell.decode(Double.self))
        case .bool: self = .bool(try cell.decode(Bool.self))
        case .numeric:
            guard cell.format == .binary, let decimal = NumericText.decimal(fromBinary: &bytes) else {
                throw EventStoreError.storage("column \(cell.columnName): a numeric value that cannot be read")
            }
            self = .decimal(decimal)
        case .timestamptz, .timestamp:
            guard cell.format == .binary, let microseconds = bytes.readInteger(as: Int64.self) else {
                throw EventStoreError.storage("column \(cell.columnName): a timestamp that cannot be read")
            }
            self = .timestamp(SQLTimestamp(microsecondsSince1970: microseconds + Timestamptz.microseconds2000))
        default: self = .text(try cell.decode(String.self))
        }
    }
}

/// A decimal bound as `numeric` in text form: PostgreSQL parses its digits exactly.
struct NumericText: PostgresNonThrowingEncodable {
    let text: String

    static var psqlType: PostgresDataType { .numeric }
    static var psqlFormat: PostgresFormat { .text }

    func encode<JSONEncoder: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        byteBuffer.writeString(text)
    }

    /// Reads `numeric`'s binary form: digit count, weight (of the first digit, in powers of 10 000),
    /// sign, display scale, then base-10 000 digits. Nil for NaN, infinities or malformed bytes.
    static func decimal(fromBinary buffer: inout ByteBuffer) -> Decimal? {
        guard let count = buffer.readInteger(as: Int16.self), let weight = buffer.readInteger(as: Int16.self),
            let sign = buffer.readInteger(as: UInt16.self), buffer.readInteger(as: Int16.self) != nil, count >= 0,
            sign == 0x0000 || sign == 0x4000
        else { return nil }
        var value = Decimal(0)
        for index in 0..<Int(count) {
            guard let digit = buffer.readInteger(as: Int16.self), (0..<10_000).contains(digit) else { return nil }
            // digit × 10 000^(weight − index), exactly: a decimal keeps a power-of-ten exponent.
            value += Decimal(sign: .plus, exponent: 4 * (Int(weight) - index), significand: Decimal(Int(digit)))
        }
        return sign == 0x4000 ? -value : value
    }
}

/// A timestamp bound as `timestamptz`: microseconds since 2000-01-01T00:00:00Z.
struct Timestamptz: PostgresNonThrowingEncodable {
    let timestamp: SQLTimestamp

    /// 2000-01-01T00:00:00Z in microseconds since 1970.
    static let microseconds2000: Int64 = 946_684_800_000_000

    static var psqlType: PostgresDataType { .timestamptz }
    static var psqlFormat: PostgresFormat { .binary }

    func encode<JSONEncoder: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        byteBuffer.writeInteger(timestamp.microsecondsSince1970 - Self.microseconds2000)
    }
}
