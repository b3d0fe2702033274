import Chronicle
import ChroniclePostgres
import ChronicleSQLite
import Foundation
import Logging
import Synchronization

/// What replays keep: the progress of each rebuild under way (or last finished), and the read models
/// built as of past positions (the last few, reused by later queries at the same position).
final class ReplayRecords: Sendable {
    private struct State {
        var rebuilds: [String: ReplayProgress] = [:]
        var running: Set<String> = []
        var pointsInTime: [PointInTime] = []
    }

    /// A point-in-time build: the read models `models` as of `position`, under way or done.
    private struct PointInTime {
        var key: String
        var models: String
        var position: GlobalPosition
        var build: Task<SQLiteReplica, any Error>
        /// The build once it has finished (a later build may start as a copy of it).
        var finished: SQLiteReplica?
    }

    private let state = Mutex(State())
    /// How many point-in-time builds are kept.
    static let keptPointsInTime = 4
    /// Point-in-time builds: one runs at a time (a build is CPU and disk bound: the other core stays with
    /// commands), six more may wait for it; a query beyond that, or one that would wait longer than
    /// ``WorkPermits/maxWait``, is answered 503 with Retry-After.
    let pointInTimePermits = WorkPermits(running: 1, waiting: 6, maxWait: .seconds(20), what: "point-in-time builds")
    /// Rebuilds: two at a time; the others wait their turn (at most one per read model can be asked for).
    let rebuildPermits = WorkPermits(running: 2, waiting: 1_000, maxWait: nil, what: "rebuilds")

    func progress(of name: String) -> ReplayProgress? { state.withLock { $0.rebuilds[name] } }

    func record(_ progress: ReplayProgress, for name: String) { state.withLock { $0.rebuilds[name] = progress } }

    /// Marks `name` as rebuilding; false when it already is.
    func begin(_ name: String) -> Bool { state.withLock { $0.running.insert(name).inserted } }

    func end(_ name: String) { _ = state.withLock { $0.running.remove(name) } }

    /// The build for `key` (the read models `models` as of `position`), started by `start` unless one is
    /// kept; `start` is handed the nearest finished build of the same read models at or before
    /// `position`, to copy and catch up from. The oldest beyond the kept number is let go of (its file
    /// goes when the last query reading it is done: ``SQLiteReplica``'s deinit).
    func pointInTime(
        _ key: String, models: String, position: GlobalPosition,
        start: @escaping @Sendable (_ nearest: SQLiteReplica?) async throws -> SQLiteReplica
    ) -> Task<SQLiteReplica, any Error> {
        state.withLock { state in
            if let index = state.pointsInTime.firstIndex(where: { $0.key == key }) {
                let kept = state.pointsInTime.remove(at: index)
                state.pointsInTime.append(kept)
                return kept.build
            }
            let nearest = state.pointsInTime.filter { $0.models == models && $0.position <= position && $0.finished != nil }
                .max { $0.position < $1.position }?.finished
            let build = Task {
                let replica = try await start(nearest)
                self.state.withLock { state in
                    if let index = state.pointsInTime.firstIndex(where: { $0.key == key }) { state.pointsInTime[index].finished = replica }
                }
                return replica
            }
            state.pointsInTime.append(PointInTime(key: key, models: models, position: position, build: build))
            state.pointsInTime.removeFirst(max(0, state.pointsInTime.count - Self.keptPointsInTime))
            return build
        }
    }

    /// Forgets a build that failed, so that the next query tries again.
    func forget(_ key: String) {
        state.withLock { $0.pointsInTime.removeAll { $0.key == key } }
    }
}

/// Bounds costly work that anyone may ask for: at most `running` at once and `waiting` in line; a request
/// beyond the line, or one that waits longer than `maxWait`, fails as ``EventStoreError/unavailable(_:)``
/// (answered 503 with Retry-After), so that no number of requests makes the server take on more.
final class WorkPermits: Sendable {
    private struct State {
        var running = 0
        var line: [(id: UInt64, waiter: CheckedContinuation<Void, any Error>)] = []
        var nextId: UInt64 = 0
    }

    let maxRunning: Int
    let maxWaiting: Int
    let maxWait: Duration?
    let what: String
    private let state = Mutex(State())

    init(running: Int, waiting: Int, maxWait: Duration?, what: String) {
        (self.maxRunning, self.maxWaiting, self.maxWait, self.what) = (running, waiting, maxWait, what)
    }

    /// Runs `body` once a permit is free.
    func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async throws {
        let busy = EventStoreError.unavailable("too many \(what) under way (\(maxRunning) running, \(maxWaiting) waiting); retry later")
        var id: UInt64 = 0
        try await withCheckedThrowingContinuation { (waiter: CheckedContinuation<Void, any Error>) in
            let admitted: Bool? = state.withLock { state in
                if state.running < maxRunning {
                    state.running += 1
                    return true
                }
                guard state.line.count < maxWaiting else { return false }
                state.nextId += 1
                id = state.nextId
                state.line.append((id, waiter))
                return nil
            }
            switch admitted {
            case true?: waiter.resume()
            case false?: waiter.resume(throwing: busy)
            case nil:
                guard let maxWait else { return }
                let ticket = id
                Task { [weak self] in
                    try? await Task.sleep(for: maxWait)
                    self?.giveUp(ticket, busy)
                }
            }
        }
    }

    /// A waiter still in line after `maxWait` leaves it.
    private func giveUp(_ id: UInt64, _ error: any Error) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            guard let index = state.line.firstIndex(where: { $0.id == id }) else { return nil }
            return state.line.remove(at: index).waiter
        }
        waiter?.resume(throwing: error)
    }

    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            if state.line.isEmpty {
                state.running -= 1
                return nil
            }
            return state.line.removeFirst().waiter  // the permit passes on
        }
        next?.resume()
    }
}

/// What a replay request cannot be.
public enum ReplayRequestError: Error, Equatable, CustomStringConvertible {
    /// No read model of that name.
    case unknownReadModel(String)
    /// A subscription that is not a read model (reactors and process managers are never replayed).
    case notAReadModel(String)
    /// A rebuild of it is under way already.
    case alreadyRebuilding(String)
    /// A position beyond the head of the log.
    case beyondHead(position: GlobalPosition, head: GlobalPosition)
    /// No module of that name.
    case unknownModule(String)

    public var description: String {
        switch self {
        case .unknownReadModel(let name): "no read model named \"\(name.prefix(80))\""
        case .notAReadModel(let name):
            "\(name) is not a read model: only read models are rebuilt (a reactor's or process manager's effects must not repeat)"
        case .alreadyRebuilding(let name): "\(name) is being rebuilt already"
        case .beyondHead(let position, let head): "as_of=\(position) is beyond the newest position \(head)"
        case .unknownModule(let name): "no module named \"\(name.prefix(80))\""
        }
    }
}

/// Replays of a runtime's read models, and only of them: rebuilding one without downtime, and building
/// them as they were at a past position (the time slider, `?as_of=`). Runs read-model statements only:
/// no reactor, no process manager, no command. One per runtime (``ChronicleRuntime/replays``).
public final class ReadModelReplays: Sendable {
    private let store: any EventStore
    private let backend: any RuntimeBackend
    /// Each subscription's read model by the subscription's name (nil for a reactor or process manager).
    private let subscriptions: [String: (any SQLReadModel)?]
    /// Each module's read models by the module's name.
    private let modules: [String: [any SQLReadModel]]
    private let logger: Logger
    private let records = ReplayRecords()

    init(
        store: any EventStore, backend: any RuntimeBackend, subscriptions: [ChronicleRuntime.Subscription], modules: [any ApplicationModule],
        logger: Logger
    ) {
        (self.store, self.backend, self.logger) = (store, backend, logger)
        self.subscriptions = Dictionary(subscriptions.map { ($0.name, $0.model) }, uniquingKeysWith: { first, _ in first })
        self.modules = Dictionary(modules.map { ($0.name, $0.readModels) }, uniquingKeysWith: { first, _ in first })
    }

    /// The read model of the subscription `name`.
    private func readModel(_ name: String) throws(ReplayRequestError) -> any SQLReadModel {
        guard let subscription = subscriptions[name] else { throw .unknownReadModel(name) }
        guard let model = subscription else { throw .notAReadModel(name) }
        return model
    }

    /// Removes the scratch that processes killed while building left behind: rebuild files beside the
    /// SQLite file and point-in-time files in the temporary directory whose process is gone, and (on
    /// PostgreSQL) replica schemas no live session holds. Run once as the runtime prepares.
    func sweepScratch() async {
        var swept = Scratch.sweep(folder: FileManager.default.temporaryDirectory.path, prefix: Scratch.pointInTimePrefix)
        swept += await backend.sweepScratch(logger: logger)
        if !swept.isEmpty {
            logger.notice("removed scratch left by processes that ended while building", metadata: ["removed": "\(swept.joined(separator: ", "))"])
        }
    }

    /// Rebuilds the read model `name` without downtime: builds it beside the live one from the start of
    /// the log, then swaps it in, in one transaction. Queries answer from the live read model until then,
    /// and the live projection keeps following the log meanwhile. Runs read-model statements only: no
    /// reactor, no process manager, no command. Any process may run it (on PostgreSQL, also one that
    /// does not own the projection: the swap locks the checkpoint the owner writes under).
    /// `report` hears the progress after each page; ``rebuildProgress(of:)`` shows it too.
    public func rebuild(_ name: String, report: @escaping @Sendable (ReplayProgress) -> Void = { _ in }) async throws {
        let model = try readModel(name)
        let (replays, backend, store) = (records, backend, store)
        guard replays.begin(name) else { throw ReplayRequestError.alreadyRebuilding(name) }
        defer { replays.end(name) }
        let total = try await store.headPosition().rawValue
        replays.record(ReplayProgress(name: name, phase: .building, done: 0, total: total, eventsPerSecond: 0), for: name)
        do {
            try await replays.rebuildPermits.run {
                // Named so that a sweep at start-up knows it is this live process's (``sweepScratch()``).
                try await backend.withReplica(rebuilding: model) { replica in
                    try await Replay.rebuild(replica, from: store) { progress in
                        replays.record(progress, for: name)
                        report(progress)
                    }
                }
            }
            // The live runner reads on from its own position; what the swap already holds, it skips.
            logger.info("read model rebuilt and swapped in", metadata: ["read_model": "\(name)"])
        } catch {
            var failed = replays.progress(of: name) ?? ReplayProgress(name: name, phase: .failed, done: 0, total: total, eventsPerSecond: 0)
            failed.phase = .failed
            failed.error = String(describing: error)
            replays.record(failed, for: name)
            logger.error("rebuild failed; the live read model is unchanged", metadata: ["read_model": "\(name)", "error": "\(error)"])
            throw error
        }
    }

    /// Starts ``rebuild(_:report:)`` in the background (the admin console's control).
    /// - Throws: ``ReplayRequestError`` at once for an unknown name, a reactor or process manager, or a
    ///   rebuild already under way.
    public func startRebuild(_ name: String) throws(ReplayRequestError) {
        _ = try readModel(name)
        if records.progress(of: name).map({ $0.phase == .building || $0.phase == .swapping }) == true {
            throw .alreadyRebuilding(name)
        }
        records.record(ReplayProgress(name: name, phase: .building, done: 0, total: 0, eventsPerSecond: 0), for: name)
        Task { try? await self.rebuild(name) }
    }

    /// The progress of the rebuild of `name` under way, or of the last one this process ran.
    public func rebuildProgress(of name: String) -> ReplayProgress? { records.progress(of: name) }

    /// The read models of `module` as they were when the log ended at `position`, to query with the
    /// module's own queries: built from the start of the log into a scratch SQLite file (whatever the
    /// backend), read-only, kept for the next queries at the same position. Runs read-model statements
    /// only: no reactor, no process manager, no command.
    /// - Throws: ``ReplayRequestError/beyondHead(position:head:)`` for a position the log has not reached.
    public func queries(asOf position: GlobalPosition, module name: String) async throws -> any SQLQuerying {
        guard let models = modules[name] else { throw ReplayRequestError.unknownModule(name) }
        return try await queries(asOf: position, readModels: models)
    }

    /// The read models `models` as they were when the log ended at `position` (see
    /// ``queries(asOf:module:)``).
    public func queries(asOf position: GlobalPosition, readModels models: [any SQLReadModel]) async throws -> any SQLQuerying {
        let head = try await store.headPosition()
        guard position <= head else { throw ReplayRequestError.beyondHead(position: position, head: head) }
        let names = models.map(\.name).joined(separator: ",")
        let (store, replays) = (self.store, records)
        let permits = replays.pointInTimePermits
        let key = names + "@\(position.rawValue)"
        let build = replays.pointInTime(key, models: names, position: position) { nearest in
            try await permits.run {
                let path = Scratch.pointInTimePath()
                // From the nearest earlier build when there is one: only the events between are read.
                let replica: SQLiteReplica
                if let earlier = nearest {
                    replica = try await SQLiteReplica(copying: earlier, path: path)
                } else {
                    replica = try SQLiteReplica(models: models, path: path)
                }
                do {
                    try await Replay.catchUp(replica, from: store, to: position)
                } catch {
                    await replica.discard()
                    throw error
                }
                return replica
            }
        }
        do {
            return try await build.value
        } catch {
            replays.forget(key)
            throw error
        }
    }
}

extension ChronicleRuntime {
    /// Where the subscription `name` runs, for an operator asking this process to control it while it
    /// stands by here: the owner another process recorded (PostgreSQL), or that this process runs none.
    public func whereRuns(_ name: String) async -> String {
        let here =
            configuration.runsSubscriptions
            ? "this process does not own \(name) now"
            : "this process runs no subscriptions (started with --no-workers), so it does not run \(name)"
        if let elsewhere = backend.runsElsewhereHint { return "\(here): \(elsewhere)" }
        guard let (process, since) = await backend.owner(of: name) else {
            return "\(here), and no worker has owned it yet: start `chronicle worker`"
        }
        return "\(here): its owner is worker \(process) (since \(since)); pause or resume it there"
    }
}

/// Names of scratch files that say which process made them, so that a sweep removes only those of
/// processes that are gone.
enum Scratch {
    static let pointInTimePrefix = "chronicle-as-of-"

    /// A point-in-time build's file in the temporary directory: `chronicle-as-of-<pid>-<random>.sqlite`.
    static func pointInTimePath() -> String {
        FileManager.default.temporaryDirectory
            .appendingPathComponent("\(pointInTimePrefix)\(getpid())-\(UUID().uuidString.prefix(8).lowercased()).sqlite").path
    }

    /// A rebuild's file beside the database: `<database>.rebuild-<pid>-<random>-<read model>`.
    static func rebuildPath(of database: String, model: String) -> String {
        database + ".rebuild-\(getpid())-\(UUID().uuidString.prefix(8).lowercased())-\(model.prefix(64))"
    }

    /// Deletes the files in `folder` named `prefix<pid>-…` whose process no longer runs (and those
    /// named by an earlier version, without a process id); answers their names.
    static func sweep(folder: String, prefix: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        var swept: [String] = []
        for name in names where name.hasPrefix(prefix) {
            let pid = name.dropFirst(prefix.count).prefix { $0 != "-" && $0 != "." }
            if let pid = Int32(pid), pid > 0, kill(pid, 0) == 0 || errno == EPERM { continue }  // alive
            if (try? FileManager.default.removeItem(atPath: folder + "/" + name)) != nil { swept.append(name) }
        }
        return swept
    }
}
