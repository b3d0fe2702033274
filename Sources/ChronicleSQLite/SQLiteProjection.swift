import Chronicle
import Foundation
import GRDB
import GRDBSQLite

/// A read model in the SQLite file: a ``SQLProjection`` on ``SQLiteSubscriptionStorage`` (its rows and
/// checkpoint rebuildable, in the shared group commit).
public typealias SQLiteProjection<Model: SQLReadModel> = SQLProjection<Model>

extension SQLProjection {
    /// The projection of `model` in `database`.
    public convenience init(_ model: Model, database: SQLiteDatabase) {
        self.init(model, storage: SQLiteSubscriptionStorage(database: database))
    }
}

extension SQLiteDatabase: SQLQuerying {
    /// The rows `statement` selects, each value read back as the kind it was written (see ``SQLValue``):
    /// SQLite keeps no booleans, decimals or timestamps, so a column's declared type says which it holds.
    public func rows(_ statement: SQLStatement) async throws -> [SQLRow] {
        try await read { db in try Self.rows(statement, db) }
    }

    /// The rows `statement` selects in `db`, read as ``rows(_:)`` reads them.
    static func rows(_ statement: SQLStatement, _ db: Database) throws -> [SQLRow] {
        let prepared = try db.makeStatement(sql: statement.sql)
        let declared: [String] = (0..<prepared.columnCount).map { index in
            sqlite3_column_decltype(prepared.sqliteStatement, Int32(index)).map { String(cString: $0).uppercased() } ?? ""
        }
        let names = prepared.columnNames
        return try Row.fetchAll(prepared, arguments: statement.bindings).map { row in
            var values: SQLRow = [:]
            for (index, value) in row.databaseValues.enumerated() {
                values[names[index]] = SQLValue(value, declaredType: declared[index])
            }
            return values
        }
    }
}

extension SQLValue {
    /// The value SQLite stored, read by the column's declared type (empty for an expression).
    init(_ value: DatabaseValue, declaredType: String) {
        let isDecimal = declaredType.hasPrefix("DECIMAL") || declaredType.hasPrefix("NUMERIC")
        switch value.storage {
        case .null:
            self = .null
        case .int64(let i):
            if declaredType.hasPrefix("BOOL") {
                self = .bool(i != 0)
            } else if isDecimal {
                self = .decimal(Decimal(i))
            } else {
                self = .integer(i)
            }
        case .double(let d):
            // A decimal column holds a REAL only after SQL arithmetic on it: its shortest digits.
            self = isDecimal ? Decimal(string: "\(d)").map(SQLValue.decimal) ?? .double(d) : .double(d)
        case .string(let s):
            if declaredType.hasPrefix("TIMESTAMP"), let timestamp = SQLTimestamp(iso8601: s) {
                self = .timestamp(timestamp)
            } else {
                self = .text(s)
            }
        case .blob(let bytes):
            // Only decimals are written as BLOBs (their digits, exactly).
            let digits = String(decoding: bytes, as: UTF8.self)
            self = Decimal(string: digits).map(SQLValue.decimal) ?? .text(digits)
        }
    }
}

extension Database {
    /// Runs statements in order.
    func run(_ statements: [SQLStatement]) throws {
        for statement in statements {
            let statement = try statement.checkedForEveryBackend()
            // Cached: a read model runs the same few statements for every event.
            try cachedStatement(sql: statement.sql).execute(arguments: statement.bindings)
        }
    }
}

extension SQLStatement {
    /// The arguments as GRDB binds them. (Through GRDB's initializer for optional existentials: its
    /// generic one maps with a key path that, unspecialized, is built at run time for every statement —
    /// a third of a read model's write time.)
    var bindings: StatementArguments {
        StatementArguments(arguments.map { value -> (any DatabaseValueConvertible)? in value.databaseValue })
    }
}

extension SQLValue {
    var databaseValue: DatabaseValue {
        switch self {
        case .null: .null
        case .integer(let i): i.databaseValue
        case .double(let d): d.databaseValue
        // Digits as a BLOB: a DECIMAL column (NUMERIC affinity) would turn text digits into a REAL.
        case .decimal(let d): Data(d.canonicalText.utf8).databaseValue
        case .bool(let b): (b ? 1 : 0).databaseValue
        case .text(let s): s.databaseValue
        case .timestamp(let t): t.description.databaseValue
        }
    }
}
