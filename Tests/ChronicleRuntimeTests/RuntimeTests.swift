import Chronicle
import ChroniclePostgres
import ChronicleRuntime
import ChronicleTesting
import Foundation
import Synchronization
import Testing

/// Two applications in one process: a ledger that only records, and an audit that projects every
/// event and reacts to ledger entries. Neither knows the other; the runtime hosts both.
struct Ledger: ApplicationModule {
    let name = "ledger"
    var readModels: [any SQLReadModel] { [CountingReadModel(name: "ledger_counts")] }
}

struct Audit: ApplicationModule {
    let name = "audit"
    let seen: Seen
    var readModels: [any SQLReadModel] { [CountingReadModel(name: "audit_counts")] }
    func reactors(_ context: ModuleContext) -> [any Reactor] { [Watcher(seen: seen)] }

    /// The positions the audit's reactor has seen.
    final class Seen: Sendable {
        let positions = Mutex<[GlobalPosition]>([])
        var last: GlobalPosition { positions.withLock { $0.last ?? .start } }
    }

    struct Watcher: Reactor {
        let name = "audit_watcher"
        let seen: Seen
        func react(to event: RecordedEvent) async throws { seen.positions.withLock { $0.append(event.position) } }
    }
}

/// So long that a subscription that reaches a new event within the test's deadline was woken, not polled.
let noPolling: Duration = .seconds(3600)

@Suite struct RuntimeTests {
    @Test func onSQLiteAnAppendForOneModuleWakesTheOtherModulesSubscriptionsAtOnce() async throws {
        let directory = try TemporaryDirectory()
        let seen = Audit.Seen()
        let runtime = try Self.ledgerAndAudit(on: .sqlite(path: directory.path("two.sqlite")), seen: seen)
        try await Self.expectWakeUps(runtime, seen: seen, appendingThrough: runtime)
    }

    /// A runtime of the ledger and the audit on `backend`, its subscriptions never polling.
    static func ledgerAndAudit(on backend: ChronicleRuntime.Backend, seen: Audit.Seen, subscribing: Bool = true) throws -> ChronicleRuntime {
        var configuration = ChronicleRuntime.Configuration(backend: backend)
        configuration.subscriptions.pollInterval = noPolling
        configuration.runsSubscriptions = subscribing
        return try ChronicleRuntime(configuration: configuration, modules: [Ledger(), Audit(seen: seen)])
    }

    @Test func registeringTwoModulesOrSubscriptionsUnderOneNameIsRefused() throws {
        let directory = try TemporaryDirectory()
        let configuration = ChronicleRuntime.Configuration(sqlitePath: directory.path("names.sqlite"))
        #expect(throws: ChronicleRuntime.ConfigurationError.self) {
            try ChronicleRuntime(configuration: configuration, modules: [Ledger(), Ledger()])
        }
        struct Copycat: ApplicationModule {
            let name = "copycat"
            var readModels: [any SQLReadModel] { [CountingReadModel(name: "ledger_counts")] }
        }
        #expect(throws: ChronicleRuntime.ConfigurationError.self) {
            try ChronicleRuntime(configuration: configuration, modules: [Ledger(), Copycat()])
        }
    }

    @Test func oneStoreServesEveryModuleAndEachSubscriptionIsListedUnderItsModule() throws {
        let directory = try TemporaryDirectory()
        let runtime = try ChronicleRuntime(
            configuration: .init(sqlitePath: directory.path("one.sqlite")), modules: [Ledger(), Audit(seen: Audit.Seen())])
        #expect(runtime.subscriptions.map(\.name) == ["ledger_counts", "audit_counts", "audit_watcher"])
        #expect(runtime.subscriptions.map(\.module) == ["ledger", "audit", "audit"])
        #expect(runtime.subscriptions.map { $0.projection == nil } == [false, false, true])
        // Every runner follows the one store of the process, through one shared reader.
        let readers = runtime.runners.compactMap { $0.store as? SharedLogReads }
        #expect(readers.count == runtime.runners.count)
        #expect(readers.allSatisfy { $0 === readers[0] && $0.base as AnyObject === runtime.store as AnyObject })
    }

    /// Runs `runtime`; appends a ledger entry through `writer`'s store once the subscriptions are idle at
    /// a first event; expects the audit's projection and reactor to take it within seconds, although
    /// they would not poll for an hour.
    static func expectWakeUps(
        _ runtime: ChronicleRuntime, seen: Audit.Seen, appendingThrough writer: ChronicleRuntime, listening: Bool = false,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let ledger = try StreamName(category: "ledger", id: "1")
        _ = try await writer.store.append([StoreContract.event("EntryRecorded")], to: ledger, expecting: .any)
        let task = Task { try await runtime.run() }
        defer { task.cancel() }
        // The first event is taken on start-up (catching up), without any wake-up.
        for name in ["ledger_counts", "audit_counts", "audit_watcher"] {
            #expect(await runtime.runner(named: name)?.waitUntilCaughtUp(to: 1, timeout: .seconds(30)) == true, sourceLocation: sourceLocation)
        }
        if listening {
            // Another process's appends arrive by NOTIFY once this runtime's LISTEN is in place: until
            // one is seen, append again (each seen append was a wake-up: nothing polls).
            var heard = false
            for _ in 0..<30 where !heard {
                let probe = try await writer.store.append([StoreContract.event("Probe")], to: ledger, expecting: .any)
                heard = await runtime.waitForReadModel("audit_counts", toReach: probe.lastPosition, timeout: .seconds(1))
            }
            #expect(heard, "the runtime never heard another process's append", sourceLocation: sourceLocation)
        }
        // Now every runner sleeps until woken (or an hour passes).
        let started = ContinuousClock.now
        let second = try await writer.store.append([StoreContract.event("EntryRecorded")], to: ledger, expecting: .any)
        #expect(await runtime.waitForReadModel("audit_counts", toReach: second.lastPosition, timeout: .seconds(10)), sourceLocation: sourceLocation)
        #expect(await runtime.runner(named: "audit_watcher")?.waitUntilCaughtUp(to: second.lastPosition, timeout: .seconds(10)) == true)
        #expect(seen.last == second.lastPosition, sourceLocation: sourceLocation)
        #expect(ContinuousClock.now - started < .seconds(10), sourceLocation: sourceLocation)
        let counts = CountingReadModel.counts(try await runtime.queries.rows(CountingReadModel(name: "audit_counts").query))
        #expect(counts["EntryRecorded"] == 2, sourceLocation: sourceLocation)
        task.cancel()
        _ = await task.result
    }
}

@Suite(
    .enabled(
        if: ProcessInfo.processInfo.environment["DATABASE_URL"] != nil || ProcessInfo.processInfo.environment["CI"] == "true",
        "set DATABASE_URL (scripts/test starts a throwaway PostgreSQL)"))
struct PostgresRuntimeTests {
    static func withDatabase(_ body: (PostgresDatabase) async throws -> Void) async throws {
        guard let url = ProcessInfo.processInfo.environment["DATABASE_URL"] else {
            Issue.record("DATABASE_URL is not set: run scripts/test, which starts a throwaway PostgreSQL")
            return
        }
        try await PostgresDatabase.withTemporarySchema(url: url) { database, _ in try await body(database) }
    }

    @Test func onPostgreSQLAnAppendForOneModuleWakesTheOtherModulesSubscriptionsAtOnce() async throws {
        try await Self.withDatabase { database in
            let seen = Audit.Seen()
            let runtime = try RuntimeTests.ledgerAndAudit(on: .postgres(database), seen: seen)
            try await RuntimeTests.expectWakeUps(runtime, seen: seen, appendingThrough: runtime)
        }
    }

    @Test func onPostgreSQLAnAppendFromAnotherProcessesRuntimeWakesThisOnesSubscriptions() async throws {
        try await Self.withDatabase { database in
            let seen = Audit.Seen()
            let worker = try RuntimeTests.ledgerAndAudit(on: .postgres(database), seen: seen)
            // Another process's runtime (its own store, its own signal): only PostgreSQL's NOTIFY links them.
            let web = try RuntimeTests.ledgerAndAudit(on: .postgres(database), seen: Audit.Seen(), subscribing: false)
            #expect(web.store as AnyObject !== worker.store as AnyObject)
            try await RuntimeTests.expectWakeUps(worker, seen: seen, appendingThrough: web, listening: true)
        }
    }
}
