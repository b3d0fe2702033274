import Chronicle
import ChroniclePostgres
import Foundation

/// The PostgreSQL scenarios, each against plain PostgreSQL statements in the same run, in a schema of
/// their own (dropped afterwards).
struct PostgresScenarios: Sendable {
    let database: PostgresDatabase
    let url: String
    let sizes: Sizes
    let directory: URL

    static let all: [(id: String, title: String, run: @Sendable (PostgresScenarios) async throws -> Measurement)] = [
        ("S1", "append 1 event, 1 writer", { try await $0.singleAppends() }),
        ("S2", "append 1 event each, 64 writers", { try await $0.concurrentAppends() }),
        ("S3", "append 100-event batches", { try await $0.batchedAppends() }),
        ("S4", "read the whole log in order, decoded", { try await $0.readLog() }),
        ("S8", "POST /todo/:id, 64 connections", { try await $0.http() }),
    ]

    func prepareRaw() async throws {
        _ = try await database.rows(
            SQLStatement(
                """
                CREATE TABLE IF NOT EXISTS raw_events (
                    position bigserial PRIMARY KEY, event_id uuid NOT NULL UNIQUE, stream text NOT NULL, version bigint NOT NULL,
                    type text NOT NULL, data json NOT NULL, metadata json NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now(),
                    UNIQUE (stream, version))
                """))
    }

    /// Plain single-row INSERTs, each its own commit, from `clients` clients at once; answers rows per second.
    func rawInserts(_ count: Int, clients: Int, rowsPerStatement: Int = 1) async throws -> Double {
        try await prepareRaw()
        let tag = UUID().uuidString.prefix(8)
        let perClient = max(1, count / clients)
        let seconds = try await Scenarios.timed {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in 0..<clients {
                    group.addTask {
                        var version: Int64 = 0
                        for _ in 0..<(perClient / rowsPerStatement) {
                            var values: [String] = []
                            var arguments: [SQLValue] = []
                            for _ in 0..<rowsPerStatement {
                                version += 1
                                values.append("(?::uuid, ?, ?, 'Happened', ?::json, '{}')")
                                arguments += [.text(UUID().uuidString), .text("raw-\(tag)-\(client)"), .integer(version), .text(Scenarios.payload)]
                            }
                            _ = try await database.rows(
                                SQLStatement(
                                    "INSERT INTO raw_events (event_id, stream, version, type, data, metadata) VALUES \(values.joined(separator: ", "))",
                                    arguments))
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        return Double(clients * (perClient / rowsPerStatement) * rowsPerStatement) / seconds
    }

    func singleAppends() async throws -> Measurement {
        let baseline = try await rawInserts(sizes.singles, clients: 1)
        let (rate, latencies) = try await Scenarios.appendOneByOne(to: PostgresEventStore(database: database), count: sizes.singles)
        return Measurement(rate: rate, baseline: baseline, latencies: latencies, note: "baseline: 1 client, 1 row per commit")
    }

    func concurrentAppends() async throws -> Measurement {
        let baseline = try await rawInserts(sizes.concurrent, clients: 8)
        let store = PostgresEventStore(database: database)
        let (rate, latencies) = try await Scenarios.appendConcurrently(to: store, writers: 64, count: sizes.concurrent)
        return Measurement(
            rate: rate, baseline: baseline, latencies: latencies,
            note: "baseline: 8 clients, 1 row per commit; \(store.appendCommits) statements for \(latencies.count) appends")
    }

    func batchedAppends() async throws -> Measurement {
        let baseline = try await rawInserts(sizes.batched, clients: 1, rowsPerStatement: 100)
        let store = PostgresEventStore(database: database)
        let streams = try (0..<100).map { try StreamName(category: "s3", id: "\($0)") }
        let seconds = try await Scenarios.timed {
            for batch in 0..<(sizes.batched / 100) {
                _ = try await store.append((0..<100).map { _ in Scenarios.event() }, to: streams[batch % 100], expecting: .any)
            }
        }
        return Measurement(rate: Double(sizes.batched) / seconds, baseline: baseline, note: "baseline: 100 rows per INSERT")
    }

    func readLog() async throws -> Measurement {
        var rawCount = 0
        let rawSeconds = try await Scenarios.timed {
            var after: Int64 = 0
            while true {
                let page = try await database.rows(
                    SQLStatement(
                        "SELECT position, event_id::text, stream, version, type, data::text, metadata::text, recorded_at FROM raw_events WHERE position > ? ORDER BY position LIMIT 1000",
                        [.integer(after)]))
                guard let last = page.last?["position"]?.integer else { break }
                rawCount += page.count
                after = last
            }
        }
        let store = PostgresEventStore(database: database)
        var count = 0
        let seconds = try await Scenarios.timed {
            var after = GlobalPosition.start
            while true {
                let page = try await store.readAll(after: after, limit: 1_000)
                guard let last = page.last else { break }
                count += page.count
                after = last.position
            }
        }
        return Measurement(rate: Double(count) / seconds, baseline: Double(rawCount) / rawSeconds, note: "\(count) events; baseline: paged SELECT of \(rawCount) rows")
    }

    func http() async throws -> Measurement {
        let baseline = try await rawInserts(sizes.concurrent, clients: 8)
        // A schema of its own: the read models start from an empty log, not from the other scenarios' events.
        return try await PostgresDatabase.withTemporarySchema(url: url) { fresh, _ in
            try await Scenarios.http(on: .postgres(fresh), baseline: baseline, duration: sizes.http, directory: directory)
        }
    }
}
