import Chronicle
import Foundation
import Testing

/// The read-model value round trip every SQL backend keeps: what a projection writes, a query reads back
/// as the same ``SQLValue`` — an integer an integer, a double the same double, a decimal the same exact
/// decimal, a boolean a boolean, text the same text, a timestamp the same microsecond, null null.
public enum SQLValueContract {
    /// The rows the contract writes: id, then one column of each kind.
    public static let written: [[SQLValue]] = {
        let cents = Decimal(string: "0.1")! + Decimal(string: "0.2")!  // exactly 0.3, unlike 0.1 + 0.2 in binary
        return [
            [
                1, .integer(.max), .double(0.1 + 0.2), .decimal(cents), .bool(true), .text("naïve ☕ 'quoted' \\ line\nbreak"),
                .timestamp(SQLTimestamp(iso8601: "2026-11-30T14:34:14.123456Z")!),
            ],
            [
                2, .integer(.min), .double(-1.5e-300), .decimal(Decimal(string: "-12345678901234567890.000123456789")!), .bool(false),
                .text(""), .timestamp(SQLTimestamp(iso8601: "1969-12-31T23:59:59.999999Z")!),
            ],
            [3, .integer(0), .double(1e300), .decimal(100), .bool(true), .text("100"), .timestamp(SQLTimestamp(microsecondsSince1970: 0))],
            [4, .null, .null, .null, .null, .null, .null],
        ]
    }()

    /// The columns, in the shared dialect's portable types.
    public static let columns = ["id", "i", "d", "m", "b", "t", "ts"]

    /// A read model that writes ``written`` on the first event it sees.
    public struct Probe: SQLReadModel {
        public let name = "value_probe"
        public init() {}

        public var createStatements: [SQLStatement] {
            [
                SQLStatement(
                    """
                    CREATE TABLE IF NOT EXISTS value_probe (
                        id BIGINT PRIMARY KEY, i BIGINT, d DOUBLE PRECISION, m DECIMAL, b BOOLEAN, t TEXT, ts TIMESTAMPTZ)
                    """)
            ]
        }

        public var dropStatements: [SQLStatement] { [SQLStatement("DROP TABLE IF EXISTS value_probe")] }

        public func statements(for event: RecordedEvent) throws -> [SQLStatement] {
            guard event.position == 1 else { return [] }
            return SQLValueContract.written.map {
                SQLStatement("INSERT INTO value_probe (id, i, d, m, b, t, ts) VALUES (?, ?, ?, ?, ?, ?, ?)", $0)
            } + [SQLStatement("INSERT INTO value_probe (id, b) VALUES (5, TRUE)")]
        }
    }

    /// Writes ``written`` through the backend's projection and reads it back through its queries.
    /// - Parameters:
    ///   - store: an empty store on the backend's database.
    ///   - projection: makes the backend's (prepared) projection of a model.
    ///   - rows: runs a query on the backend's database.
    public static func valuesRoundTripExactly(
        store: any EventStore, projection: (Probe) async throws -> any Projection, rows: (SQLStatement) async throws -> [SQLRow],
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        _ = try await store.append([StoreContract.event("ProbeWritten")], to: StreamName("probe-1"), expecting: .any)
        let probe = try await projection(Probe())
        try await probe.consume(try await store.readAll(after: .start, limit: 10))

        let read = try await rows(SQLStatement("SELECT id, i, d, m, b, t, ts FROM value_probe WHERE id < 5 ORDER BY id"))
        #expect(read.count == written.count, sourceLocation: sourceLocation)
        for (row, values) in zip(read, written) {
            for (column, value) in zip(columns, values) {
                #expect(row[column] == value, "column \(column) of row \(values[0])", sourceLocation: sourceLocation)
            }
        }
        let first = read.first ?? [:]
        #expect(first["m"]?.decimal == Decimal(string: "0.3"), "0.1 + 0.2 comes back exactly 0.3", sourceLocation: sourceLocation)
        #expect(first["d"]?.double == 0.1 + 0.2 && first["d"]?.double != 0.3, "a double keeps every bit", sourceLocation: sourceLocation)
        #expect(first["b"] == .bool(true), "a boolean comes back a boolean", sourceLocation: sourceLocation)

        // A boolean written as an SQL literal reads back a boolean too.
        let literal = try await rows(SQLStatement("SELECT b FROM value_probe WHERE id = 5"))
        #expect(literal.first?["b"] == .bool(true), sourceLocation: sourceLocation)
        // Equal decimals are equal in SQL, however the number was written (0.30 is 0.3).
        let matched = try await rows(SQLStatement("SELECT id FROM value_probe WHERE m = ?", [.decimal(Decimal(string: "0.30")!)]))
        #expect(matched.map { $0["id"] } == [.integer(1)], sourceLocation: sourceLocation)
        // Timestamps sort as time does, on every backend.
        let byTime = try await rows(SQLStatement("SELECT id FROM value_probe WHERE ts IS NOT NULL ORDER BY ts"))
        #expect(byTime.map { $0["id"] } == [.integer(2), .integer(3), .integer(1)], sourceLocation: sourceLocation)
    }
}
