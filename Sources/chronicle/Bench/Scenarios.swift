import Chronicle
import ChronicleHTTP
import ChronicleKurrent
import ChronicleRuntime
import ChronicleSQLite
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import TodoApp
import TodoHTTP

/// The scenarios of BENCHMARKS.md, each with its raw baseline, on files in `directory`.
struct Scenarios: Sendable {
    let directory: URL
    let sizes: Sizes
    let synchronous: SQLiteDatabase.Configuration.Synchronous
    /// The Python that runs S6's comparison with the `eventsourcing` library.
    let python: String

    static let payload = "{\"title\":\"benchmark\",\"description\":\"a body of typical size for a small event\"}"

    static let all: [Scenario] = [
        Scenario(id: "S1", title: "append 1 event, 1 writer, each durable", run: { try await $0.singleAppends() }),
        Scenario(id: "S2", title: "append 1 event each, 64 writers", run: { try await $0.concurrentAppends() }),
        Scenario(id: "S3", title: "append 100-event batches", run: { try await $0.batchedAppends() }),
        Scenario(id: "S4", title: "read the whole log in order, decoded", run: { try await $0.readLog() }),
        Scenario(id: "S5", title: "load and fold a 10-event stream", run: { try await $0.folds() }),
        Scenario(id: "S6", title: "command: load, decide, append", run: { try await $0.commands() }),
        Scenario(id: "S7", title: "projection catch-up into SQLite", run: { try await $0.projectionCatchUp() }),
        Scenario(id: "S8", title: "POST /todo/:id, 64 connections", run: { try await $0.http() }),
        Scenario(id: "S9", title: "replay the log (peak RSS)", run: { try await $0.replay() }),
        Scenario(id: "S10", title: "rebuild beside the live read model, swapped in", run: { try await $0.rebuildBeside() }),
    ]

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func database(_ name: String) throws -> SQLiteDatabase {
        var configuration = SQLiteDatabase.Configuration()
        configuration.synchronous = synchronous
        return try SQLiteDatabase(path: path(name), configuration: configuration)
    }

    func raw(_ name: String) throws -> RawSQLite { try RawSQLite(path: path(name), synchronous: synchronous.rawValue) }

    static func event() -> NewEvent { NewEvent(id: UUID(), type: "BenchHappened", data: Data(payload.utf8)) }

    /// Runs `body` and answers its duration in seconds.
    static func timed(_ body: () async throws -> Void) async rethrows -> Double {
        let start = ContinuousClock.now
        try await body()
        return Bench.seconds(start.duration(to: .now))
    }

    /// The raw single-row durable commit rate (S1's baseline, and the yardstick of S2, S6 and S8).
    func rawSingleRowRate() throws -> Double {
        let raw = try raw("raw-singles-\(UUID().uuidString).sqlite")
        let n = sizes.singles
        let start = ContinuousClock.now
        try raw.insert(n, perCommit: 1, streams: n, data: Self.payload)
        return Double(n) / Bench.seconds(start.duration(to: .now))
    }

    func singleAppends() async throws -> Measurement {
        let baseline = try rawSingleRowRate()
        let store = SQLiteEventStore(database: try database("s1-\(UUID().uuidString).sqlite"))
        let (rate, latencies) = try await Self.appendOneByOne(to: store, count: sizes.singles)
        return Measurement(rate: rate, baseline: baseline, latencies: latencies)
    }

    func concurrentAppends() async throws -> Measurement {
        let baseline = try rawSingleRowRate()
        let store = SQLiteEventStore(database: try database("s2.sqlite"))
        let (rate, latencies) = try await Self.appendConcurrently(to: store, writers: 64, count: sizes.concurrent)
        return Measurement(
            rate: rate, baseline: baseline, latencies: latencies,
            note: "baseline: raw single-row commits; \(store.appendCommits) commits for \(latencies.count) appends")
    }

    /// S1 on any store: one event to each of `count` new streams, one append at a time; answers the
    /// rate and each append's latency.
    static func appendOneByOne(to store: any EventStore, count: Int) async throws -> (rate: Double, latencies: [Double]) {
        let tag = UUID().uuidString.prefix(8).lowercased()
        var latencies: [Double] = []
        let seconds = try await timed {
            for n in 0..<count {
                let start = ContinuousClock.now
                _ = try await store.append([event()], to: try StreamName(category: "s1", id: "\(tag)x\(n)"), expecting: .noStream)
                latencies.append(Bench.seconds(start.duration(to: .now)))
            }
        }
        return (Double(count) / seconds, latencies)
    }

    /// S2 on any store: `writers` tasks at once, each appending one event to each of its new streams
    /// (`count` in all); answers the rate and each append's latency.
    static func appendConcurrently(to store: any EventStore, writers: Int, count: Int) async throws -> (rate: Double, latencies: [Double]) {
        let each = max(1, count / writers)
        let latencies = Shared<[Double]>([])
        let seconds = try await timed {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<writers {
                    group.addTask {
                        var mine: [Double] = []
                        for n in 0..<each {
                            let start = ContinuousClock.now
                            _ = try await store.append(
                                [event()], to: try StreamName(category: "s2", id: "\(writer)x\(n)"), expecting: .noStream)
                            mine.append(Bench.seconds(start.duration(to: .now)))
                        }
                        latencies.update { $0 += mine }
                    }
                }
                try await group.waitForAll()
            }
        }
        return (Double(writers * each) / seconds, latencies.value)
    }

    func batchedAppends() async throws -> Measurement {
        let raw = try raw("s3-raw.sqlite")
        let rawSeconds = try await Self.timed { try raw.insert(sizes.batched, perCommit: 100, streams: 100, data: Self.payload) }
        let store = SQLiteEventStore(database: try database("s3.sqlite"))
        let streams = try (0..<100).map { try StreamName(category: "s3", id: "\($0)") }
        let seconds = try await Self.timed {
            for batch in 0..<(sizes.batched / 100) {
                _ = try await store.append((0..<100).map { _ in Self.event() }, to: streams[batch % 100], expecting: .any)
            }
        }
        return Measurement(rate: Double(sizes.batched) / seconds, baseline: Double(sizes.batched) / rawSeconds)
    }

    func readLog() async throws -> Measurement {
        // The logs S3 wrote, read back whole.
        let raw = try raw("s3-raw.sqlite")
        var rawCount = 0
        let rawSeconds = try await Self.timed { rawCount = try raw.readAll() }
        let store = SQLiteEventStore(database: try database("s3.sqlite"))
        var count = 0
        let seconds = try await Self.timed {
            var after = GlobalPosition.start
            while true {
                let page = try await store.readAll(after: after, limit: 1_000)
                guard let last = page.last else { break }
                count += page.count
                after = last.position
            }
        }
        guard count == rawCount, count > 0 else { throw RawError("S4 read \(count) events, the raw side \(rawCount): run S3 first") }
        return Measurement(rate: Double(count) / seconds, baseline: Double(rawCount) / rawSeconds, note: "\(count) events")
    }

    func folds() async throws -> Measurement {
        let streams = 100
        let raw = try raw("s5-raw.sqlite")
        try raw.insert(streams * 10, perCommit: 1_000, streams: streams, data: "{\"amount\":1}")
        let rawSeconds = try await Self.timed { try raw.readStreams(sizes.folds, streams: streams) }
        let store = SQLiteEventStore(database: try database("s5.sqlite"))
        let handler = CommandHandler<BenchAccount, BenchAccount.Codec>(store: store, codec: BenchAccount.Codec())
        let names = try (0..<streams).map { try StreamName(category: "account", id: "\($0)") }
        for name in names {
            _ = try await store.append((0..<10).map { _ in try BenchAccount.Codec().new(.deposited(1)) }, to: name, expecting: .noStream)
        }
        var latencies: [Double] = []
        let seconds = try await Self.timed {
            for n in 0..<sizes.folds {
                let start = ContinuousClock.now
                let (state, version) = try await handler.load(names[n % streams])
                guard state.balance == 10, version == 10 else { throw RawError("S5 folded \(state) at \(version)") }
                latencies.append(Bench.seconds(start.duration(to: .now)))
            }
        }
        // Where the time goes: the store's read of the 10 events alone, without decoding or folding them.
        let readSeconds = try await Self.timed {
            for n in 0..<sizes.folds {
                guard try await store.read(names[n % streams], from: 1, direction: .forwards, limit: 100).count == 10 else {
                    throw RawError("S5 read a stream short")
                }
            }
        }
        return Measurement(
            rate: Double(sizes.folds) / seconds, baseline: Double(sizes.folds) / rawSeconds, latencies: latencies,
            note: String(format: "the store's read alone (no decoding, no fold): %.0f/s", Double(sizes.folds) / readSeconds))
    }

    /// S6: a deposit on an existing account (load its event, decide, append one), one after another;
    /// beside it, S1 of the same run and the Python `eventsourcing` library doing the same commands.
    func commands() async throws -> Measurement {
        let s1 = try await singleAppends()
        let store = SQLiteEventStore(database: try database("s6.sqlite"))
        let handler = CommandHandler<BenchAccount, BenchAccount.Codec>(store: store, codec: BenchAccount.Codec())
        let accounts = try (0..<sizes.commands).map { try StreamName(category: "account", id: "\($0)") }
        for account in accounts {
            guard case .accepted = try await handler.handle(.deposit(1), on: account) else { throw RawError("S6 opening rejected") }
        }
        var latencies: [Double] = []
        let seconds = try await Self.timed {
            for account in accounts {
                let start = ContinuousClock.now
                guard case .accepted = try await handler.handle(.deposit(5), on: account) else {
                    throw RawError("S6 command rejected")
                }
                latencies.append(Bench.seconds(start.duration(to: .now)))
            }
        }
        let rate = Double(sizes.commands) / seconds
        let python = try PythonBaseline.commandRate(python: python, commands: sizes.commands, directory: directory)
        let comparison =
            switch python {
            case .measured(let pythonRate, let detail):
                String(format: "; Python eventsourcing %.0f/s (%@): %.1f×", pythonRate, detail, rate / pythonRate)
            case .unavailable(let reason):
                "; Python eventsourcing not measured: \(reason)"
            }
        return Measurement(
            rate: rate, baseline: s1.rate, latencies: latencies, note: "baseline: S1 (Chronicle's own append)" + comparison)
    }

    /// The log S7 and S9 read: `sizes.projected` events in 100 streams.
    func projectedLog() async throws -> SQLiteEventStore {
        let store = SQLiteEventStore(database: try database("s7.sqlite"))
        guard try await store.headPosition().rawValue < Int64(sizes.projected) else { return store }
        let streams = try (0..<100).map { try StreamName(category: "s7", id: "\($0)") }
        var written = 0
        while written < sizes.projected {
            let n = min(1_000, sizes.projected - written)
            _ = try await store.append((0..<n).map { _ in Self.event() }, to: streams[(written / 1_000) % 100], expecting: .any)
            written += n
        }
        return store
    }

    func projectionCatchUp() async throws -> Measurement {
        let store = try await projectedLog()
        let projection = try await SQLiteProjection(BenchTotals(), database: store.database).prepared()
        let seconds = try await Self.timed {
            var after = GlobalPosition.start
            while true {
                let page = try await store.readAll(after: after, limit: 500)
                guard let last = page.last else { break }
                try await projection.consume(page)
                after = last.position
            }
        }
        return Measurement(rate: Double(sizes.projected) / seconds, baseline: nil, note: "\(sizes.projected) events; target 100,000/s")
    }

    /// S10: the rebuild `chronicle projections rebuild` runs: S7's read model built from position 0 into
    /// a scratch file beside the live one, in pages, then swapped in (rows and checkpoint) in one
    /// transaction. Against S7's rate in the same run would be the fairer ratio; the target is S7's.
    func rebuildBeside() async throws -> Measurement {
        let store = try await projectedLog()
        let model = BenchTotals()
        let live = try await SQLiteProjection(model, database: store.database).prepared()
        let replica = try SQLiteReplica(rebuilding: model, in: store.database, path: path("s10.replica"))
        let seconds = try await Self.timed { try await Replay.rebuild(replica, from: store) }
        let rebuilt = try await live.checkpoint().rawValue
        guard rebuilt == Int64(sizes.projected) else { throw RawError("S10 swapped in a read model at \(rebuilt), not \(sizes.projected)") }
        return Measurement(
            rate: Double(sizes.projected) / seconds, baseline: nil, note: "\(sizes.projected) events read, built and swapped in; target 100,000/s")
    }

    func replay() async throws -> Measurement {
        _ = try await projectedLog()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        process.arguments = ["bench", "--replay", path("s7.sqlite")]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let fields = text.split(separator: " ").map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }
        guard fields.count == 3, let count = Double(fields[0]), let seconds = Double(fields[1]), let rss = Int(fields[2]) else {
            throw RawError("S9's replay process answered \(text)")
        }
        return Measurement(rate: count / seconds, baseline: nil, note: "peak RSS \(rss / 1024) MB for \(Int(count)) events; target < 100 MB")
    }

    func http() async throws -> Measurement {
        let backend = ChronicleRuntime.Backend.sqlite(
            path: path("s8.sqlite"),
            configuration: {
                var c = SQLiteDatabase.Configuration()
                c.synchronous = synchronous
                return c
            }())
        return try await Self.http(on: backend, baseline: try rawSingleRowRate(), duration: sizes.http, directory: directory)
    }

    /// Serves the Todo module on `backend` — HTTP, and KurrentDB's gRPC port when `grpc` — runs `body`
    /// with the runtime and the ports, then stops it all.
    static func serving<T: Sendable>(
        _ backend: ChronicleRuntime.Backend, directory: URL, grpc: Bool = false,
        _ body: @Sendable (ChronicleRuntime, _ http: Int, _ grpc: Int?) async throws -> T
    ) async throws -> T {
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        var configuration = ChronicleRuntime.Configuration(backend: backend)
        configuration.subscriptions.pollInterval = .milliseconds(250)
        let todo = TodoModule(mailSink: try FileMailbox(path: path("served-\(UUID().uuidString).mailbox")))
        let runtime = try ChronicleRuntime(configuration: configuration, modules: [TodoWeb(todo)])
        var server = ChronicleServer.Configuration()
        server.port = 0
        let port = Shared<Int?>(nil)
        let grpcPort = Shared<Int?>(nil)
        var edges: [any Service] = []
        if grpc {
            var kurrent = KurrentServer.Configuration()
            kurrent.port = 0
            kurrent.policy.protectedCategories = runtime.ownedCategories
            edges.append(KurrentServer(configuration: kurrent, runtime: runtime) { bound in grpcPort.update { $0 = bound } })
        }
        let app = ChronicleServer.application(runtime: runtime, edges: edges, configuration: server, logger: Logger(label: "bench")) { bound in
            port.update { $0 = bound }
        }
        let group = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "bench")))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var (bound, boundGRPC) = (port.value, grpcPort.value)
            while bound == nil || (grpc && boundGRPC == nil) {
                try await Task.sleep(for: .milliseconds(10))
                (bound, boundGRPC) = (port.value, grpcPort.value)
            }
            guard let bound else { throw RawError("no port") }
            try await runtime.prepare()
            do {
                let result = try await body(runtime, bound, boundGRPC)
                await group.triggerGracefulShutdown()
                try await tasks.next()
                return result
            } catch {
                tasks.cancelAll()
                throw error
            }
        }
    }

    /// S8 on `backend`: the Todo module served, 64 connections adding todos for `duration`.
    static func http(on backend: ChronicleRuntime.Backend, baseline: Double, duration: Duration, directory: URL) async throws -> Measurement {
        try await serving(backend, directory: directory) { runtime, bound, _ in
            let worstLag = Shared<Int64>(0)
            let sampling = Task {
                while !Task.isCancelled {
                    if let head = try? await runtime.store.headPosition(), let slowest = runtime.runners.map(\.currentStatus.checkpoint).min() {
                        worstLag.update { $0 = max($0, head.rawValue - slowest.rawValue) }
                    }
                    try? await Task.sleep(for: .milliseconds(100))
                }
            }
            let start = ContinuousClock.now
            let outcome = await HTTPLoad.run(port: bound, connections: 64, duration: duration) { _ in
                let body = #"{"title": "benchmark", "description": "one of many", "stakeholder_email": "ada@example.com"}"#
                return Array(
                    ("POST /todo/\(UUID().uuidString.lowercased()) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)").utf8)
            }
            let elapsed = Bench.seconds(start.duration(to: .now))
            // How long the read models and the notifier take to reach the head once the load stops.
            let head = try await runtime.store.headPosition()
            let caughtUp = await Scenarios.timed {
                for runner in runtime.runners { _ = await runner.waitUntilCaughtUp(to: head, timeout: .seconds(60)) }
            }
            sampling.cancel()
            let created = outcome.statuses[201, default: 0]
            let failures = outcome.errors + outcome.statuses.filter { $0.key != 201 }.values.reduce(0, +)
            guard failures == 0, created > 0 else {
                throw RawError("S8: \(created) created, \(outcome.errors) connection errors, statuses \(outcome.statuses)")
            }
            // How the subscriptions read and wrote: batches shared between them, and (SQLite) how many
            // transactions their writes took.
            let taken = runtime.runners.map(\.currentStatus.processed).reduce(0, +)
            var sharing = ""
            if let reads = runtime.runners.first?.store as? SharedLogReads {
                sharing += "; \(reads.readsFromStore) log reads"
            }
            if let store = runtime.store as? SQLiteEventStore {
                let commits = store.database.rebuildableCommits
                sharing += ", \(commits.writes) read-model/checkpoint writes in \(commits.transactions) transactions"
            }
            return Measurement(
                rate: Double(created) / elapsed, baseline: baseline, latencies: outcome.latencies,
                note: String(
                    format: "%d created, %d errors; read models %.2f s behind at the end (worst lag %d events)",
                    created, failures, caughtUp, worstLag.value) + sharing + " for \(taken) events taken in")
        }
    }
}

/// S7's read model: a running count per stream, upserted per event.
struct BenchTotals: SQLReadModel {
    let name = "bench_totals"
    var createStatements: [SQLStatement] {
        [SQLStatement("CREATE TABLE IF NOT EXISTS bench_totals (stream TEXT PRIMARY KEY, events BIGINT NOT NULL)")]
    }
    var dropStatements: [SQLStatement] { [SQLStatement("DROP TABLE IF EXISTS bench_totals")] }
    func statements(for event: RecordedEvent) throws -> [SQLStatement] {
        [
            SQLStatement(
                "INSERT INTO bench_totals VALUES (?, 1) ON CONFLICT (stream) DO UPDATE SET events = bench_totals.events + 1",
                [.text(event.stream.description)])
        ]
    }
}

/// S5's and S6's decider: an account that takes deposits.
enum BenchAccount: Decider {
    struct State: Sendable { var balance: Int64 = 0 }
    enum Command: Sendable { case deposit(Int64) }
    enum Event: Sendable { case deposited(Int64) }
    struct Rejection: Error {}

    static let initialState = State()
    static func decide(_ command: Command, _ state: State) throws(Rejection) -> [Event] {
        guard case .deposit(let amount) = command, amount > 0 else { throw Rejection() }
        return [.deposited(amount)]
    }
    static func evolve(_ state: State, _ event: Event) -> State {
        guard case .deposited(let amount) = event else { return state }
        return State(balance: state.balance + amount)
    }

    struct Codec: EventCodec {
        struct Body: Codable { let amount: Int64 }
        func encode(_ event: Event) throws -> EncodedEvent {
            guard case .deposited(let amount) = event else { throw CodecError.unknownType("?") }
            return EncodedEvent(type: "Deposited", schemaVersion: 1, data: try JSONEncoder().encode(Body(amount: amount)))
        }
        func decode(_ encoded: EncodedEvent) throws -> Event {
            guard encoded.type == "Deposited" else { throw CodecError.unknownType(encoded.type) }
            return .deposited(try JSONDecoder().decode(Body.self, from: encoded.data).amount)
        }
        func new(_ event: Event) throws -> NewEvent {
            let encoded = try encode(event)
            return NewEvent(id: UUID(), type: encoded.type, schemaVersion: encoded.schemaVersion, data: encoded.data)
        }
    }
}

/// A value several tasks update.
final class Shared<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>
    init(_ value: Value) { storage = Mutex(value) }
    var value: Value { storage.withLock { $0 } }
    func update(_ body: (inout Value) -> Void) { storage.withLock { body(&$0) } }
}
