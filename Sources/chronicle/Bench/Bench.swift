import ArgumentParser
import Chronicle
import ChronicleSQLite
import Foundation
import GRDB

/// Measures the SQLite store against a raw baseline in the same run, so that ratios survive a noisy machine.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure appends and reads of the SQLite store against plain SQLite in the same run.")

    @Option(help: "Events per measurement.")
    var events = 20_000

    @Option(help: "Events per append batch for the batched measurement.")
    var batch = 100

    @Option(help: "PRAGMA synchronous for both sides: FULL, NORMAL or OFF.")
    var synchronous = "NORMAL"

    func run() async throws {
        guard let level = SQLiteDatabase.Configuration.Synchronous(rawValue: synchronous.uppercased()) else {
            throw ValidationError("synchronous must be FULL, NORMAL or OFF")
        }
        guard events > 0, batch > 0 else { throw ValidationError("events and batch must be positive") }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chronicle-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = SQLiteDatabase.Configuration()
        configuration.synchronous = level
        let payload = Data("{\"title\":\"benchmark todo\",\"description\":\"a body of typical size for a small event\"}".utf8)
        print("chronicle bench: \(events) events, synchronous=\(level.rawValue), batch=\(batch)")

        // Baseline: the same rows inserted by a plain loop, one BEGIN IMMEDIATE transaction per row.
        let raw = try SQLiteDatabase(path: directory.appendingPathComponent("raw.sqlite").path, configuration: configuration)
        try await raw.write { db in
            try db.execute(sql: "CREATE TABLE raw_events (position INTEGER PRIMARY KEY, event_id TEXT UNIQUE, stream TEXT, version INTEGER, type TEXT, data TEXT)")
        }
        let text = String(decoding: payload, as: UTF8.self)
        let rawAppend = try await measure {
            for i in 0..<events {
                try await raw.write { db in
                    try db.execute(
                        sql: "INSERT INTO raw_events (event_id, stream, version, type, data) VALUES (?, ?, ?, ?, ?)",
                        arguments: [UUID().uuidString.lowercased(), "bench-\(i % 100)", i / 100 + 1, "BenchHappened", text])
                }
            }
        }
        let store = SQLiteEventStore(database: try SQLiteDatabase(path: directory.appendingPathComponent("store.sqlite").path, configuration: configuration))
        let streams = try (0..<100).map { try StreamName(category: "bench", id: String($0)) }
        let storeAppend = try await measure {
            for i in 0..<events {
                _ = try await store.append(
                    [NewEvent(id: UUID(), type: "BenchHappened", data: payload)], to: streams[i % 100],
                    expecting: .exactly(Int64(i / 100)))
            }
        }
        let batched = SQLiteEventStore(database: try SQLiteDatabase(path: directory.appendingPathComponent("batched.sqlite").path, configuration: configuration))
        let batchedAppend = try await measure {
            var written = 0
            while written < events {
                let n = min(batch, events - written)
                _ = try await batched.append(
                    (0..<n).map { _ in NewEvent(id: UUID(), type: "BenchHappened", data: payload) }, to: streams[written / batch % 100],
                    expecting: .any)
                written += n
            }
        }
        let rawRead = try await measure {
            var last: Int64 = 0
            while true {
                let page = try await raw.read { [last] db in
                    try Row.fetchAll(db, sql: "SELECT * FROM raw_events WHERE position > ? ORDER BY position LIMIT 1000", arguments: [last])
                        .map { (position: $0["position"] as Int64, data: Data(($0["data"] as String).utf8)) }
                }
                guard let tail = page.last else { break }
                last = tail.position
            }
        }
        let storeRead = try await measure {
            var last = GlobalPosition.start
            while true {
                let page = try await store.readAll(after: last, limit: 1000)
                guard let tail = page.last else { break }
                last = tail.position
            }
        }
        func line(_ name: String, _ seconds: Double, baseline: Double) {
            let rate = Double(events) / seconds
            print(
                name.padding(toLength: 44, withPad: " ", startingAt: 0)
                    + String(format: "%9.3f s %11.0f ev/s   %.2fx baseline", seconds, rate, seconds / baseline))
        }
        line("raw SQLite insert loop (baseline)", rawAppend, baseline: rawAppend)
        line("SQLiteEventStore.append, 1 event each", storeAppend, baseline: rawAppend)
        line("SQLiteEventStore.append, \(batch) per batch", batchedAppend, baseline: rawAppend)
        line("raw SQLite paged read (baseline)", rawRead, baseline: rawRead)
        line("SQLiteEventStore.readAll, paged", storeRead, baseline: rawRead)
    }

    private func measure(_ body: () async throws -> Void) async throws -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        try await body()
        let elapsed = start.duration(to: clock.now)
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
