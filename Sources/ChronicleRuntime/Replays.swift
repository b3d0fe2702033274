import Chronicle
import ChroniclePostgres
import ChronicleSQLite
import Foundation
import Synchronization

/// What the runtime keeps of replays: the progress of each rebuild under way (or last finished), and the
/// read models built as of past positions (the last few, reused by later queries at the same position).
final class Replays: Sendable {
    private struct State {
        var rebuilds: [String: ReplayProgress] = [:]
        var running: Set<String> = []
        var pointsInTime: [(key: String, build: Task<SQLiteReplica, any Error>)] = []
    }

    private let state = Mutex(State())
    /// How many point-in-time builds are kept.
    static let keptPointsInTime = 4

    func progress(of name: String) -> ReplayProgress? { state.withLock { $0.rebuilds[name] } }

    func record(_ progress: ReplayProgress, for name: String) { state.withLock { $0.rebuilds[name] = progress } }

    /// Marks `name` as rebuilding; false when it already is.
    func begin(_ name: String) -> Bool { state.withLock { $0.running.insert(name).inserted } }

    func end(_ name: String) { _ = state.withLock { $0.running.remove(name) } }

    /// The build for `key`, started by `start` unless one is kept; the oldest beyond the kept number is
    /// let go of (its file goes when the last query reading it is done: ``SQLiteReplica``'s deinit).
    func pointInTime(_ key: String, start: @escaping @Sendable () async throws -> SQLiteReplica) -> Task<SQLiteReplica, any Error> {
        state.withLock { state in
            if let index = state.pointsInTime.firstIndex(where: { $0.key == key }) {
                let kept = state.pointsInTime.remove(at: index)
                state.pointsInTime.append(kept)
                return kept.build
            }
            let build = Task { try await start() }
            state.pointsInTime.append((key, build))
            state.pointsInTime.removeFirst(max(0, state.pointsInTime.count - Self.keptPointsInTime))
            return build
        }
    }

    /// Forgets a build that failed, so that the next query tries again.
    func forget(_ key: String) {
        state.withLock { $0.pointsInTime.removeAll { $0.key == key } }
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

extension ChronicleRuntime {
    /// The read model of the subscription `name`.
    private func readModel(_ name: String) throws(ReplayRequestError) -> any SQLReadModel {
        guard let subscription = subscription(named: name) else { throw .unknownReadModel(name) }
        guard let model = subscription.model else { throw .notAReadModel(name) }
        return model
    }

    /// A replica that will replace the live read model `model` when promoted.
    private func replica(rebuilding model: any SQLReadModel) async throws -> any ReadModelReplica {
        if let sqlite {
            let path = sqlite.path + ".rebuild-\(model.name)-\(UUID().uuidString.prefix(8).lowercased())"
            return try SQLiteReplica(rebuilding: model, in: sqlite, path: path)
        }
        guard let postgres else { throw EventStoreError.storage("no database to rebuild in") }
        return try await PostgresReplica.rebuilding(model, in: postgres.database)
    }

    /// Rebuilds the read model `name` without downtime: builds it beside the live one from the start of
    /// the log, then swaps it in, in one transaction. Queries answer from the live read model until then,
    /// and the live projection keeps following the log meanwhile. Runs read-model statements only: no
    /// reactor, no process manager, no command. Any process may run it (on PostgreSQL, also one that
    /// does not own the projection: the swap locks the checkpoint the owner writes under).
    /// `report` hears the progress after each page; ``rebuildProgress(of:)`` shows it too.
    public func rebuild(_ name: String, report: @escaping @Sendable (ReplayProgress) -> Void = { _ in }) async throws {
        let model = try readModel(name)
        guard replays.begin(name) else { throw ReplayRequestError.alreadyRebuilding(name) }
        defer { replays.end(name) }
        let replays = self.replays
        let total = try await store.headPosition().rawValue
        replays.record(ReplayProgress(name: name, phase: .building, done: 0, total: total, eventsPerSecond: 0), for: name)
        do {
            let replica = try await replica(rebuilding: model)
            try await Replay.rebuild(replica, from: store) { progress in
                replays.record(progress, for: name)
                report(progress)
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
        if replays.progress(of: name).map({ $0.phase == .building || $0.phase == .swapping }) == true {
            throw .alreadyRebuilding(name)
        }
        replays.record(ReplayProgress(name: name, phase: .building, done: 0, total: 0, eventsPerSecond: 0), for: name)
        Task { try? await self.rebuild(name) }
    }

    /// The progress of the rebuild of `name` under way, or of the last one this process ran.
    public func rebuildProgress(of name: String) -> ReplayProgress? { replays.progress(of: name) }

    /// The read models of `module` as they were when the log ended at `position`, to query with the
    /// module's own queries: built from the start of the log into a scratch SQLite file (whatever the
    /// backend), read-only, kept for the next queries at the same position. Runs read-model statements
    /// only: no reactor, no process manager, no command.
    /// - Throws: ``ReplayRequestError/beyondHead(position:head:)`` for a position the log has not reached.
    public func queries(asOf position: GlobalPosition, module name: String) async throws -> any SQLQuerying {
        guard let module = modules.first(where: { $0.name == name }) else { throw ReplayRequestError.unknownModule(name) }
        return try await queries(asOf: position, readModels: module.readModels)
    }

    /// The read models `models` as they were when the log ended at `position` (see
    /// ``queries(asOf:module:)``).
    public func queries(asOf position: GlobalPosition, readModels models: [any SQLReadModel]) async throws -> any SQLQuerying {
        let head = try await store.headPosition()
        guard position <= head else { throw ReplayRequestError.beyondHead(position: position, head: head) }
        let key = models.map(\.name).joined(separator: ",") + "@\(position.rawValue)"
        let store = self.store
        let build = replays.pointInTime(key) {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("chronicle-as-of-\(UUID().uuidString.lowercased()).sqlite").path
            let replica = try SQLiteReplica(models: models, path: path)
            do {
                try await Replay.catchUp(replica, from: store, to: position)
            } catch {
                await replica.discard()
                throw error
            }
            return replica
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
    /// The position of the last event recorded at or before `time` (``GlobalPosition/start`` when none
    /// was): a binary search over the log, one event read per step. Recorded times follow positions
    /// (each store stamps a commit as it makes it); where a clock stepped back, the answer is one of the
    /// positions around that time.
    public func position(at time: Date) async throws -> GlobalPosition {
        var (low, high) = (Int64(0), try await store.headPosition().rawValue)
        while low < high {
            let middle = low + (high - low + 1) / 2
            guard let event = try await store.readAll(after: GlobalPosition(rawValue: middle - 1), limit: 1).first else { break }
            if event.recordedAt <= time { low = middle } else { high = middle - 1 }
        }
        return GlobalPosition(rawValue: low)
    }
}

extension ChronicleRuntime {
    /// Where the subscription `name` runs, for an operator asking this process to control it while it
    /// stands by here: the owner another process recorded (PostgreSQL), or that this process runs none.
    public func whereRuns(_ name: String) async -> String {
        let here = configuration.runsSubscriptions
            ? "this process does not own \(name) now"
            : "this process runs no subscriptions (started with --no-workers), so it does not run \(name)"
        guard let postgres else {
            return "\(here): pause or resume it in the process that runs it (a `chronicle serve` without --no-workers on the same file)"
        }
        let owner = try? await postgres.database.rows(
            SQLStatement("SELECT owner, CAST(acquired_at AS TEXT) AS since FROM subscription_owners WHERE name = ?", [.text(name)])
        ).first
        guard let owner, let process = owner["owner"]?.text else {
            return "\(here), and no worker has owned it yet: start `chronicle worker`"
        }
        return "\(here): its owner is worker \(process) (since \(owner["since"]?.text ?? "?")); pause or resume it there"
    }
}
