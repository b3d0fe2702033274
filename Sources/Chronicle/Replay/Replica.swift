import Foundation
import Synchronization

/// Read models built beside the live ones, from the start of the log: for a rebuild without downtime
/// (``promote()`` swaps the replica in for the live read model once it has caught up) or for read models
/// as of a past position (queried, never promoted).
///
/// A replica runs read-model statements and nothing else: no reactor, no process manager, no command —
/// replaying the log never reaches the outside world. The live read model, and every reactor's and
/// process manager's checkpoint, stay as they are until a promotion swaps the read model's tables and
/// checkpoint in one transaction.
public protocol ReadModelReplica: SQLQuerying {
    /// The read models it builds, by name.
    var names: [String] { get }
    /// The position of the last event it has taken in.
    func checkpoint() async throws -> GlobalPosition
    /// Takes in `events` (in order): their rows and the replica's checkpoint in one transaction. Events
    /// at or before the checkpoint are skipped.
    func consume(_ events: [RecordedEvent]) async throws
    /// Swaps the replica in for the live read model, in one transaction: its tables and its checkpoint.
    /// - Throws: ``ReplicaError/behind(live:replica:)`` when the live read model has read further than
    ///   the replica (catch up and try again); ``ReplicaError/notPromotable(_:)`` for a replica built only
    ///   to be read.
    func promote() async throws
    /// Deletes whatever is left of the replica. Never throws: a replica is scratch space.
    func discard() async
}

/// Why a replica was not promoted.
public enum ReplicaError: Error, Equatable, CustomStringConvertible {
    /// The live read model has read further than the replica.
    case behind(live: GlobalPosition, replica: GlobalPosition)
    /// The replica was built to be read (a point in time), not to replace anything.
    case notPromotable(String)
    /// The live read model kept moving ahead of the replica for every attempt.
    case neverCaughtUp(String)
    /// The event at `position` could not be applied (a poison event: the live projection stops there too).
    case failedEvent(position: GlobalPosition, reason: String)

    public var description: String {
        switch self {
        case .behind(let live, let replica): "the live read model is at \(live), the replica only at \(replica)"
        case .notPromotable(let why): why
        case .neverCaughtUp(let name): "the rebuild of \(name) never caught up with its live read model"
        case .failedEvent(let position, let reason): "the event at position \(position) cannot be applied: \(reason)"
        }
    }
}

/// How far a replay has come: events read out of those to read, the rate and the time left.
public struct ReplayProgress: Sendable, Hashable {
    /// What the replay is doing.
    public enum Phase: String, Sendable, Hashable {
        /// Reading the log into the replica.
        case building
        /// Swapping the replica in.
        case swapping
        /// Swapped in (a rebuild) or built (a point in time).
        case done
        /// Stopped by an error (the live read model is untouched).
        case failed
    }

    /// The read model (or models) being built.
    public var name: String
    /// What it is doing.
    public var phase: Phase
    /// Events read (the replica's position: positions are gap-free).
    public var done: Int64
    /// Events to read: the head of the log when the replay last looked.
    public var total: Int64
    /// Events read per second so far.
    public var eventsPerSecond: Double
    /// Seconds left at that rate (nil before the first page).
    public var secondsLeft: Double?
    /// Why it failed, when it did.
    public var error: String?

    /// Makes a progress report.
    public init(
        name: String, phase: Phase, done: Int64, total: Int64, eventsPerSecond: Double, secondsLeft: Double? = nil, error: String? = nil
    ) {
        self.name = name
        self.phase = phase
        self.done = done
        self.total = total
        self.eventsPerSecond = eventsPerSecond
        self.secondsLeft = secondsLeft
        self.error = error
    }

}

/// Drives replicas over the log.
public enum Replay {
    /// The statements `model` runs for `event`, a failure named as the event's (``ReplicaError/failedEvent(position:reason:)``).
    public static func statements(_ model: any SQLReadModel, for event: RecordedEvent) throws -> [SQLStatement] {
        do {
            return try model.statements(for: event)
        } catch {
            throw ReplicaError.failedEvent(position: event.position, reason: String(describing: error))
        }
    }

    /// Events read per page: memory stays bounded by one page, whatever the length of the log.
    public static let pageSize = 1_000

    /// Feeds `replica` every event after its checkpoint up to `position` (inclusive), a page at a time;
    /// `report` hears the progress after each page.
    public static func catchUp(
        _ replica: any ReadModelReplica, from store: any EventStore, to position: GlobalPosition,
        report: @Sendable (ReplayProgress) -> Void = { _ in }
    ) async throws {
        let name = replica.names.joined(separator: ", ")
        var after = try await replica.checkpoint()
        let started = ContinuousClock.now
        let first = after
        func progress(_ phase: ReplayProgress.Phase) -> ReplayProgress {
            let elapsed = ContinuousClock.now - started
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let rate = seconds > 0 ? Double(after.rawValue - first.rawValue) / seconds : 0
            let left = rate > 0 ? Double(position.rawValue - after.rawValue) / rate : nil
            return ReplayProgress(
                name: name, phase: phase, done: after.rawValue, total: position.rawValue, eventsPerSecond: rate, secondsLeft: left)
        }
        report(progress(.building))
        while after < position {
            try Task.checkCancellation()
            let page = try await store.readAll(after: after, limit: pageSize).prefix { $0.position <= position }
            guard let last = page.last else { break }
            try await replica.consume(Array(page))
            after = last.position
            report(progress(.building))
        }
    }

    /// Rebuilds a read model without downtime: catches `replica` up to the head of the log, then swaps it
    /// in. If the live read model has moved ahead meanwhile, catches up to the new head and tries again.
    /// The replica is discarded in the end, swapped in or not.
    public static func rebuild(
        _ replica: any ReadModelReplica, from store: any EventStore, report: @Sendable (ReplayProgress) -> Void = { _ in }
    ) async throws {
        let name = replica.names.joined(separator: ", ")
        do {
            let rate = Mutex<Double>(0)
            for _ in 0..<100 {
                let head = try await store.headPosition()
                try await catchUp(replica, from: store, to: head) { progress in
                    if progress.done > 0 { rate.withLock { $0 = progress.eventsPerSecond } }
                    report(progress)
                }
                let done = try await replica.checkpoint().rawValue
                let eventsPerSecond = rate.withLock { $0 }
                report(ReplayProgress(name: name, phase: .swapping, done: done, total: max(done, head.rawValue), eventsPerSecond: eventsPerSecond))
                do {
                    try await replica.promote()
                    report(ReplayProgress(name: name, phase: .done, done: done, total: done, eventsPerSecond: eventsPerSecond))
                    await replica.discard()
                    return
                } catch ReplicaError.behind {
                    continue
                }
            }
            throw ReplicaError.neverCaughtUp(name)
        } catch {
            await replica.discard()
            throw error
        }
    }
}
