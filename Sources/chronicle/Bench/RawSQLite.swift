import Foundation
import GRDBSQLite

/// The raw baseline: SQLite through its C API, none of the store's layers — what the same work costs
/// when done by hand, measured in the same run as Chronicle.
final class RawSQLite {
    private var db: OpaquePointer?

    /// Opens `path` in WAL mode at `synchronous`, with an events-like table (the same unique keys).
    init(path: String, synchronous: String) throws {
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK else {
            throw RawError("cannot open \(path)")
        }
        try exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = \(synchronous)")
        try exec(
            """
            CREATE TABLE IF NOT EXISTS raw_events (
                position INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, stream TEXT NOT NULL, version INTEGER NOT NULL,
                type TEXT NOT NULL, data TEXT NOT NULL, metadata TEXT NOT NULL, recorded_at INTEGER NOT NULL,
                UNIQUE (stream, version))
            """)
    }

    deinit { sqlite3_close_v2(db) }

    func exec(_ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else { throw RawError(String(cString: sqlite3_errmsg(db))) }
    }

    /// A prepared statement.
    final class Statement {
        let handle: OpaquePointer?
        init(_ db: OpaquePointer?, _ sql: String) throws {
            var handle: OpaquePointer?
            guard sqlite3_prepare_v2(db, sql, -1, &handle, nil) == SQLITE_OK else { throw RawError(String(cString: sqlite3_errmsg(db))) }
            self.handle = handle
        }
        deinit { sqlite3_finalize(handle) }

        func bind(_ index: Int32, _ value: Int64) { sqlite3_bind_int64(handle, index, value) }
        func bind(_ index: Int32, _ value: String) {
            sqlite3_bind_text(handle, index, value, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
        }
        /// Steps until done; answers the rows seen.
        func run(_ row: (OpaquePointer?) -> Void = { _ in }) throws -> Int {
            defer { sqlite3_reset(handle) }
            var rows = 0
            while true {
                switch sqlite3_step(handle) {
                case SQLITE_ROW:
                    rows += 1
                    row(handle)
                case SQLITE_DONE: return rows
                default: throw RawError("step failed")
                }
            }
        }
    }

    func prepare(_ sql: String) throws -> Statement { try Statement(db, sql) }

    /// Inserts `count` rows (to `streams` streams in turn, with `perCommit` rows per durable commit)
    /// from position `first`.
    func insert(_ count: Int, perCommit: Int, streams: Int, data: String) throws {
        let insert = try prepare(
            "INSERT INTO raw_events (event_id, stream, version, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, '{}', ?)")
        let begin = try prepare("BEGIN IMMEDIATE")
        let commit = try prepare("COMMIT")
        var versions = [Int64](repeating: 0, count: streams)
        var written = 0
        while written < count {
            _ = try begin.run()
            for _ in 0..<min(perCommit, count - written) {
                let stream = written % streams
                versions[stream] += 1
                insert.bind(1, UUID().uuidString.lowercased())
                insert.bind(2, "raw-\(stream)")
                insert.bind(3, versions[stream])
                insert.bind(4, "Happened")
                insert.bind(5, data)
                insert.bind(6, Int64(Date().timeIntervalSince1970 * 1000))
                _ = try insert.run()
                written += 1
            }
            _ = try commit.run()
        }
    }

    /// Reads every row in position order, fetching each column's value as a decoder would; answers the count.
    func readAll() throws -> Int {
        let select = try prepare("SELECT position, event_id, stream, version, type, data, metadata, recorded_at FROM raw_events ORDER BY position")
        return try select.run { row in
            for column in Int32(0)..<8 {
                _ = sqlite3_column_type(row, column) == SQLITE_INTEGER ? nil : sqlite3_column_text(row, column)
                _ = sqlite3_column_bytes(row, column)
            }
        }
    }

    /// Selects the rows of one stream by name, `times` times over `streams` streams.
    func readStreams(_ times: Int, streams: Int) throws {
        let select = try prepare("SELECT position, event_id, version, type, data, metadata, recorded_at FROM raw_events WHERE stream = ? ORDER BY version")
        for n in 0..<times {
            select.bind(1, "raw-\(n % streams)")
            _ = try select.run { row in _ = sqlite3_column_text(row, 4) }
        }
    }
}

struct RawError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
