import Chronicle
import Foundation
import HTTPTypes
import Hummingbird
import Synchronization
import ChronicleRuntime

/// The admin console's API: subscriptions with their state and lag, their controls, and the history
/// behind the console's chart.
struct AdminRoutes {
    let monitor: SubscriptionMonitor
    let store: any EventStore
    /// Where checkpoints are stored: a subscription another process runs is shown at its stored checkpoint.
    let checkpoints: any CheckpointStore
    /// The process managers' processes, by subscription name.
    let processes: [String: any ProcessInspecting]
    /// How each module's streams are reverted.
    let reverts: RevertRegistry
    /// The runtime: rebuilds and read models as of a position.
    let runtime: ChronicleRuntime
    /// Each stream's last event type and summary, read once per new version.
    let summaries = StreamSummaries()

    func register(on router: RouteTable) {
        // The router treats /admin and /admin/ alike: redirect the first, and leave the second to the
        // file middleware (a 404 from here makes it serve admin/index.html).
        router.get("/admin") { request, _ in
            guard request.uri.path == "/admin" else { throw HTTPError(.notFound) }
            return Response(status: .found, headers: [.location: "/admin/"])
        }
        router.get("/admin/api/subscriptions") { _, _ in
            let head = try await store.headPosition()
            var rows: [SubscriptionBody] = []
            for runner in monitor.runners {
                var status = runner.currentStatus
                if status.state == .standby { status.checkpoint = try await checkpoints.checkpoint(for: runner.name) }
                var row = SubscriptionBody(status, head: head, eventsPerSecond: monitor.eventsPerSecond(runner.name))
                if let processes = processes[runner.name] { row.openInstances = try? await processes.openCount() }
                row.rebuild = runtime.replays.rebuildProgress(of: runner.name).map(RebuildBody.init)
                rows.append(row)
            }
            return JSONBody.response(.ok, SubscriptionsBody(head: head.rawValue, subscriptions: rows))
        }
        // A process manager's open processes, most recently moved first, with their pending commands.
        router.get("/admin/api/subscriptions/:name/instances") { _, context in
            let name = context.parameters.get("name") ?? ""
            guard let processes = processes[name] else {
                throw APIError(.notFound, "no process manager named \"\(name.prefix(80))\"")
            }
            return JSONBody.response(
                .ok, InstancesBody(name: name, open: try await processes.openCount(), instances: try await processes.openInstances(limit: 50)))
        }
        router.post("/admin/api/subscriptions/:name/:action") { _, context in
            let name = context.parameters.get("name") ?? ""
            guard let runner = monitor.runners.first(where: { $0.name == name }) else {
                throw APIError(.notFound, "no subscription named \"\(name.prefix(80))\"")
            }
            let action = context.parameters.get("action")
            // Pause and resume act on the runner of this process: where another process runs the
            // subscription (or none does), say so rather than pretend. A rebuild is carried out here,
            // whoever runs the subscription: its swap is safe beside the owner.
            if action == "pause" || action == "resume", runner.currentStatus.state == .standby {
                throw APIError(.conflict, await runtime.whereRuns(name))
            }
            switch action {
            case "pause": runner.pause()
            case "resume": runner.resume()
            case "rebuild":
                // Built beside the live read model and swapped in; its progress shows as `rebuild`.
                do {
                    try runtime.replays.startRebuild(name)
                } catch let error as ReplayRequestError {
                    if case .alreadyRebuilding = error { throw APIError(.conflict, error.description) }
                    throw APIError(.unprocessableContent, error.description)
                }
            default:
                throw APIError(.notFound, "unknown action: use pause, resume or rebuild")
            }
            return JSONBody.response(.ok, ["status": "requested"])
        }
        // Reverse events: `{"to_version": N}` appends the compensating events that bring the stream back to
        // its state at version N. 200 with each step; 422 with the events that cannot be undone (nothing
        // appended); 404 for no such stream or no revert for its category; 400 for a version it never had.
        router.post("/admin/api/streams/:name/revert") { request, context in
            let body = try await JSONBody.object(of: request, context: context)
            guard case .number(let n)? = body["to_version"], n == n.rounded(), n >= 0, n < 1e15 else {
                throw APIError.badRequest("to_version must be a whole number")
            }
            let stream: StreamName
            do { stream = try StreamName(context.parameters.get("name") ?? "") } catch { throw APIError.badRequest("not a stream name") }
            let outcome: RevertOutcome
            do {
                outcome = try await reverts.revert(stream, toVersion: StreamVersion(n))
            } catch let error as RevertError {
                switch error {
                case .unknownStream, .notRevertible: throw APIError(.notFound, error.description)
                case .noSuchVersion: throw APIError.badRequest(error.description)
                }
            }
            return JSONBody.response(outcome.reverted ? .ok : .unprocessableContent, RevertBody(outcome))
        }
        // A read model's tables as they were when the log ended at `?as_of=` (default: the head), built
        // beside the live one (the time slider). At most 200 rows a table.
        router.get("/admin/api/read-models/:name") { request, context in
            let name = context.parameters.get("name") ?? ""
            guard let model = runtime.subscription(named: name)?.model else {
                throw APIError(.notFound, "no read model named \"\(name.prefix(80))\"")
            }
            let head = try await store.headPosition()
            let position = try request.position("as_of") ?? head
            let replica: any SQLQuerying
            do {
                replica = try await runtime.replays.queries(asOf: position, readModels: [model])
            } catch let error as ReplayRequestError {
                throw APIError.badRequest(error.description)
            } catch let error as ReplicaError {
                throw APIError(.unprocessableContent, "\(name) cannot be built as of \(position): \(error)")
            }
            var tables: [ReadModelTable] = []
            let names = try await replica.rows(
                SQLStatement("SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'replica_checkpoint' ORDER BY name"))
            for table in names.compactMap({ $0["name"]?.text }) {
                let columns = try await replica.rows(SQLStatement("SELECT name FROM pragma_table_info(?) ORDER BY cid", [.text(table)]))
                    .compactMap { $0["name"]?.text }
                let quoted = "\"" + table.replacingOccurrences(of: "\"", with: "\"\"") + "\""
                let count = try await replica.rows(SQLStatement("SELECT COUNT(*) AS n FROM \(quoted)")).first?["n"]?.integer ?? 0
                let rows = try await replica.rows(SQLStatement("SELECT * FROM \(quoted) LIMIT 200"))
                tables.append(ReadModelTable(name: table, columns: columns, count: count, rows: rows.map { row in columns.map { JSONValue(row[$0] ?? .null) } }))
            }
            return JSONBody.response(.ok, ReadModelBody(name: name, asOf: position.rawValue, head: head.rawValue, tables: tables))
        }
        // The streams a person can pick from: most recently written first, each with its category, its last
        // event's type and a summary its module gives (a todo's title); `?category=` and `?q=` (any of
        // name, category, type, summary, case-insensitive) narrow it. At most `?limit=` (200) rows.
        router.get("/admin/api/streams") { request, _ in
            let needle = request.uri.queryParameters.get("q").map { String($0).lowercased() } ?? ""
            let category: String? = request.uri.queryParameters.get("category").flatMap { $0.isEmpty ? nil : String($0) }
            let limit = try request.limit(default: 200)
            // Every stream is considered (in pages), not only the first ones by name: the newest of
            // 30,000 is listed, and a category filter finds its streams wherever their names sort.
            var all: [StreamInfo] = []
            var categories = Set<String>()
            var after: StreamName?
            while true {
                let page = try await store.streams(after: after, limit: 1_000)
                for info in page {
                    categories.insert(info.name.category)
                    if category == nil || info.name.category == category { all.append(info) }
                }
                guard page.count == 1_000, let last = page.last else { break }
                after = last.name
            }
            var rows: [StreamRow] = []
            for info in all.sorted(by: { $0.lastPosition > $1.lastPosition }) {
                let row = try await summaries.row(for: info, store: store, modules: runtime.modules)
                if !needle.isEmpty, ![row.name, row.category, row.lastType ?? "", row.summary ?? ""].contains(where: { $0.lowercased().contains(needle) }) {
                    continue
                }
                rows.append(row)
                if rows.count >= limit { break }
            }
            return JSONBody.response(.ok, StreamsListBody(streams: rows, categories: categories.sorted()))
        }
        router.get("/admin/api/history") { _, _ in
            JSONBody.response(.ok, HistoryBody(intervalSeconds: monitor.interval.components.seconds, samples: monitor.history))
        }
    }
}

/// The admin console's streams list.
struct StreamsListBody: Encodable {
    let streams: [StreamRow]
    let categories: [String]
}

/// One stream as the console lists it: `/streams`' fields, plus its category, last event type and summary.
struct StreamRow: Encodable {
    let stream: StreamBody
    let category: String
    let lastType: String?
    let summary: String?

    var name: String { stream.name }

    enum CodingKeys: String, CodingKey { case category, lastType = "last_type", summary }

    func encode(to encoder: any Encoder) throws {
        try stream.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(category, forKey: .category)
        try c.encode(lastType, forKey: .lastType)
        try c.encode(summary, forKey: .summary)
    }
}

/// Each stream's last event type and summary, as of the version last listed: the console polls the
/// list, and a stream is read again only when it has grown — and then only its new events (at most the
/// newest 1,000), newest first.
final class StreamSummaries: Sendable {
    private struct Known {
        var version: StreamVersion
        var lastType: String?
        var summary: String?
    }

    private let known = Mutex<[StreamName: Known]>([:])

    func row(for info: StreamInfo, store: any EventStore, modules: [any ApplicationModule]) async throws -> StreamRow {
        var entry = known.withLock { $0[info.name] } ?? Known(version: 0)
        if entry.version != info.version {
            let unread = max(1, min(1_000, Int(info.version - entry.version)))
            let newest = try await store.read(info.name, from: info.version, direction: .backwards, limit: unread)
            let summary = newest.lazy.compactMap { event in modules.lazy.compactMap { $0.summary(of: event) }.first }.first
            entry = Known(version: info.version, lastType: newest.first?.type ?? entry.lastType, summary: summary ?? entry.summary)
            known.withLock { [entry] in $0[info.name] = entry }
        }
        return StreamRow(stream: StreamBody(info), category: info.name.category, lastType: entry.lastType, summary: entry.summary)
    }
}

/// A read model's tables at a position (the console's time slider).
struct ReadModelBody: Encodable {
    let name: String
    let asOf: Int64
    let head: Int64
    let tables: [ReadModelTable]

    enum CodingKeys: String, CodingKey { case name, asOf = "as_of", head, tables }
}

/// One table of a read model: its columns, its row count, and up to 200 rows (values in column order).
struct ReadModelTable: Encodable {
    let name: String
    let columns: [String]
    let count: Int64
    let rows: [[JSONValue]]
}

extension JSONValue {
    /// A read model's value as JSON: decimals and timestamps as text, so that nothing is rounded.
    init(_ value: SQLValue) {
        switch value {
        case .null: self = .null
        case .integer(let i): self = .number(Double(i))
        case .double(let d): self = .number(d)
        case .decimal(let d): self = .string(d.canonicalText)
        case .bool(let b): self = .bool(b)
        case .text(let t): self = .string(t)
        case .timestamp(let t): self = .string(t.description)
        }
    }
}

struct SubscriptionsBody: Encodable {
    let head: Int64
    let subscriptions: [SubscriptionBody]
}

struct InstancesBody: Encodable {
    let name: String
    let open: Int
    let instances: [Instance]

    init(name: String, open: Int, instances: [ProcessInstance]) {
        (self.name, self.open, self.instances) = (name, open, instances.map(Instance.init))
    }

    /// One process: its state as the JSON it is (not a string holding JSON), its pending commands.
    struct Instance: Encodable {
        let id: String
        let state: JSONValue
        let open: Bool
        let position: Int64
        let pending: [Pending]

        init(_ instance: ProcessInstance) {
            (id, open, position) = (instance.id, instance.open, instance.position)
            state = (try? JSONDecoder().decode(JSONValue.self, from: Data(instance.state.utf8))) ?? .string(instance.state)
            pending = instance.pending.map { Pending(commandId: $0.commandId, type: $0.type, deadline: $0.deadline, dueAt: $0.dueAt) }
        }
    }

    struct Pending: Encodable {
        let commandId: String
        let type: String
        let deadline: String?
        let dueAt: String?
        enum CodingKeys: String, CodingKey { case commandId = "command_id", type, deadline, dueAt = "due_at" }
    }
}

struct HistoryBody: Encodable {
    let intervalSeconds: Int64
    let samples: [SubscriptionMonitor.Sample]

    enum CodingKeys: String, CodingKey { case intervalSeconds = "interval_seconds", samples }
}

/// One subscription as the console shows it.
struct SubscriptionBody: Encodable {
    struct Fault: Encodable {
        let position: Int64
        let error: String
    }

    let name: String
    let kind: String
    let state: String
    let checkpoint: Int64
    let lag: Int64
    let processed: Int
    let eventsPerSecond: Double
    let fault: Fault?
    /// How many processes are open, for a process manager.
    var openInstances: Int?
    /// The rebuild under way (or the last one), for a read model.
    var rebuild: RebuildBody?

    init(_ status: SubscriptionStatus, head: GlobalPosition, eventsPerSecond: Double) {
        name = status.name
        kind = status.kind.rawValue
        checkpoint = status.checkpoint.rawValue
        lag = max(0, head.rawValue - status.checkpoint.rawValue)
        processed = status.processed
        self.eventsPerSecond = (eventsPerSecond * 10).rounded() / 10
        switch status.state {
        case .starting: (state, fault) = ("starting", nil)
        case .running: (state, fault) = ("running", nil)
        case .paused: (state, fault) = ("paused", nil)
        case .stopped: (state, fault) = ("stopped", nil)
        case .standby: (state, fault) = ("standby", nil)
        case let .faulted(position, error): (state, fault) = ("faulted", Fault(position: position.rawValue, error: error))
        }
    }

    enum CodingKeys: String, CodingKey {
        case name, kind, state, checkpoint, lag, processed, eventsPerSecond = "events_per_second", fault, openInstances = "open_instances"
        case rebuild
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(kind, forKey: .kind)
        try c.encode(state, forKey: .state)
        try c.encode(checkpoint, forKey: .checkpoint)
        try c.encode(lag, forKey: .lag)
        try c.encode(processed, forKey: .processed)
        try c.encode(eventsPerSecond, forKey: .eventsPerSecond)
        try c.encode(fault, forKey: .fault)
        if kind == SubscriptionStatus.Kind.processManager.rawValue { try c.encode(openInstances, forKey: .openInstances) }
        if kind == SubscriptionStatus.Kind.projection.rawValue { try c.encode(rebuild, forKey: .rebuild) }
    }
}

/// A rebuild's progress as the console shows it: `{"name", "phase", "done", "total", "events_per_second",
/// "seconds_left", "error"}`.
struct RebuildBody: Encodable {
    let name: String
    let phase: String
    let done: Int64
    let total: Int64
    let eventsPerSecond: Double
    let secondsLeft: Double?
    let error: String?

    init(_ progress: ReplayProgress) {
        (name, phase, done, total) = (progress.name, progress.phase.rawValue, progress.done, progress.total)
        (eventsPerSecond, secondsLeft, error) = (progress.eventsPerSecond, progress.secondsLeft, progress.error)
    }

    enum CodingKeys: String, CodingKey {
        case name, phase, done, total, eventsPerSecond = "events_per_second", secondsLeft = "seconds_left", error
    }
}

/// A revert's outcome as the console and `chronicle streams revert` show it: `{"reverted", "steps":
/// [{"version", "type", "compensated_by", "note", "refused"}], "stream_version", "position"}`. A missing
/// `note` or `position` is `null` over HTTP (as in every response) and left out of the command's output,
/// as before this body had a type of its own.
public struct RevertBody: Encodable {
    /// The outcome.
    public let outcome: RevertOutcome

    /// The body of `outcome`.
    public init(_ outcome: RevertOutcome) { self.outcome = outcome }

    private enum CodingKeys: String, CodingKey { case reverted, steps, streamVersion = "stream_version", position }
    private enum StepKeys: String, CodingKey { case version, type, compensatedBy = "compensated_by", note, refused }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(outcome.reverted, forKey: .reverted)
        var steps = c.nestedUnkeyedContainer(forKey: .steps)
        for step in outcome.steps {
            var s = steps.nestedContainer(keyedBy: StepKeys.self)
            try s.encode(step.version, forKey: .version)
            try s.encode(step.type, forKey: .type)
            try s.encode(step.compensatedBy, forKey: .compensatedBy)
            try s.encodeIfPresent(step.note, forKey: .note)
            try s.encode(step.refused, forKey: .refused)
        }
        try c.encode(outcome.streamVersion, forKey: .streamVersion)
        try c.encodeIfPresent(outcome.position, forKey: .position)
    }
}
