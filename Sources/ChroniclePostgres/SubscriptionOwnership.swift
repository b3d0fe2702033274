import Chronicle
import Foundation
import Logging
import PostgresNIO

/// Runs a subscription only while this process owns it, so that of several workers exactly one runs each
/// projection or reactor at a time, and a survivor takes over within seconds when the owner dies.
///
/// Ownership is a session advisory lock held on a connection of its own: it ends when the owner's
/// process or connection dies. On taking over, the worker raises the subscription's epoch; every write
/// of the read model and checkpoint checks that epoch (``SubscriptionFence``), so a worker that lost
/// ownership without noticing cannot write.
public final class SubscriptionOwnership: Sendable {
    /// The subscription run while owned.
    public let runner: SubscriptionRunner
    /// Its fence, shared with its projection or checkpoint store.
    public let fence: SubscriptionFence
    /// How this worker names itself in `subscription_owners` (default: host and process id).
    public let workerName: String
    /// How often a worker that does not own the subscription tries to take it (default 1 s), and how
    /// often the owner checks that it still does.
    public let interval: Duration
    private let database: PostgresDatabase
    private let logger: Logger

    /// Runs `runner` on `database` while owning it; `fence` must be the one its projection or checkpoint
    /// store checks.
    public init(
        runner: SubscriptionRunner, fence: SubscriptionFence, database: PostgresDatabase,
        workerName: String = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)",
        interval: Duration = .seconds(1), logger: Logger = Logger(label: "chronicle.ownership")
    ) {
        self.runner = runner
        self.fence = fence
        self.database = database
        self.workerName = workerName
        self.interval = interval
        var logger = logger
        logger[metadataKey: "subscription"] = "\(runner.name)"
        self.logger = logger
    }

    /// Tries to own the subscription and runs it while owned, until the task is cancelled.
    public func run() async {
        while !Task.isCancelled {
            runner.markStandby()
            do {
                // Bounded only by cancellation: a shutdown must not wait on a connection PostgreSQL dropped.
                try await database.withDeadline(.seconds(86_400 * 365)) {
                    try await self.database.client.withConnection { connection in try await self.own(on: connection) }
                }
            } catch {
                if Task.isCancelled { break }
                logger.warning("ownership attempt failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// The advisory lock's key. Advisory locks are database-wide: the key names the schema too, so that
    /// deployments in two schemas of one database (or two test runs) never take each other's locks.
    private var lockKey: String { "chronicle:\(runner.name)" }

    /// Takes the lock if free, raises the epoch, runs until the connection or the ownership is lost.
    private func own(on connection: PostgresConnection) async throws {
        let (lockKey, logger) = (self.lockKey, self.logger)
        let acquired = try await database.withDeadline {
            var acquired = false
            for try await got in try await connection.query(
                "SELECT pg_try_advisory_lock(hashtextextended(current_schema() || ':' || \(lockKey), 0))", logger: logger
            ).decode(Bool.self) { acquired = got }
            return acquired
        }
        guard acquired else { return }
        defer { fence.hold(nil) }
        let (name, workerName) = (runner.name, self.workerName)
        let epoch = try await database.withDeadline {
            var epoch: Int64 = 0
            for try await value in try await connection.query(
                """
                INSERT INTO subscription_owners (name, epoch, owner, acquired_at) VALUES (\(name), 1, \(workerName), now())
                ON CONFLICT (name) DO UPDATE SET epoch = subscription_owners.epoch + 1, owner = excluded.owner,
                    acquired_at = excluded.acquired_at
                RETURNING epoch
                """, logger: logger
            ).decode(Int64.self) { epoch = value }
            return epoch
        }
        fence.hold(epoch)
        logger.notice("took ownership", metadata: ["epoch": "\(epoch)", "worker": "\(workerName)"])
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.runner.run() }
            // The owning connection stays in this task: it watches while the runner runs.
            await self.watch(connection, epoch: epoch)
            group.cancelAll()
        }
        logger.notice("released ownership", metadata: ["epoch": "\(epoch)"])
        _ = try? await database.withDeadline {
            try await connection.execute(
                "SELECT pg_advisory_unlock(hashtextextended(current_schema() || ':' || \(lockKey), 0))", logger: logger)
        }
    }

    /// Returns when the owning connection fails or another worker holds a newer epoch.
    private func watch(_ connection: PostgresConnection, epoch: Int64) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            do {
                // A connection the server dropped (a restart) may never answer: no answer in time is a loss.
                let (name, logger) = (runner.name, self.logger)
                let current = try await database.withDeadline {
                    var current: Int64?
                    for try await value in try await connection.query(
                        "SELECT epoch FROM subscription_owners WHERE name = \(name)", logger: logger
                    ).decode(Int64.self) { current = value }
                    return current
                }
                if current != epoch {
                    logger.warning("ownership lost", metadata: ["epoch": "\(epoch)", "current": "\(current.map(String.init) ?? "none")"])
                    return
                }
            } catch {
                if !Task.isCancelled { logger.warning("owning connection lost", metadata: ["error": "\(error)"]) }
                return
            }
        }
    }
}
