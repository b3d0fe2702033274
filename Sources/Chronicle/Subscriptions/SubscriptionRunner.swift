import Foundation
import Logging
import Metrics
import Synchronization

/// What a subscription is doing, for the admin console, metrics and tests.
public struct SubscriptionStatus: Sendable, Hashable {
    /// What kind of consumer runs.
    public enum Kind: String, Sendable, Hashable, Codable {
        case projection, reactor, processManager = "process_manager"
    }

    /// Its state.
    public enum State: Sendable, Hashable {
        /// Not started yet, or its checkpoint is being read.
        case starting
        /// Following the log.
        case running
        /// Paused by an operator.
        case paused
        /// Stopped at a poison event: the event's position and the error. Resuming tries it again.
        case faulted(position: GlobalPosition, error: String)
        /// Its task ended.
        case stopped
        /// Not run by this process: another worker owns it, or this process runs no subscriptions.
        case standby
    }

    /// The consumer's name.
    public var name: String
    /// The consumer's kind.
    public var kind: Kind
    /// Its state.
    public var state: State
    /// The position of the last event it took in.
    public var checkpoint: GlobalPosition
    /// Events taken in since this process started.
    public var processed: Int
}

/// Runs one ``EventConsumer`` over the log: reads batches after its checkpoint, hands them over, and
/// waits for new events. A batch that fails is retried one event at a time to find the poison event;
/// the runner then stops there, loudly (state, log, metric), without skipping it.
public final class SubscriptionRunner: Sendable {
    /// How the runner reads.
    public struct Configuration: Sendable {
        /// Events per batch (default 500).
        public var batchSize: Int = 500
        /// How often the log is read again when no in-process signal arrives (default 250 ms), e.g.
        /// for commits made by another process.
        public var pollInterval: Duration = .milliseconds(250)
        /// The first wait before retrying a batch that failed for a passing reason (a full disk, a lost
        /// database connection); it doubles up to ``maxRetryDelay``.
        public var firstRetryDelay: Duration = .milliseconds(250)
        /// The longest wait between retries of a passing failure (default 10 s).
        public var maxRetryDelay: Duration = .seconds(10)
        /// Makes the default configuration.
        public init() {}
    }

    /// The consumer it runs.
    public let consumer: any EventConsumer
    /// What kind of consumer it is.
    public let kind: SubscriptionStatus.Kind
    /// The store it follows.
    public let store: any EventStore
    private let configuration: Configuration
    private let logger: Logger
    private let status: Mutex<SubscriptionStatus>
    private let control = Mutex<(paused: Bool, rebuildRequested: Bool, retryRequested: Bool)>((false, false, false))
    private let wakeUp = PositionSignal()
    private let controlGeneration = Mutex<Int64>(0)
    /// Raised with the checkpoint after each batch: lets a query wait until its read model has caught up.
    public let progress = PositionSignal()
    private let processedCounter: Counter
    private let faultCounter: Counter
    private let checkpointGauge: Gauge

    /// Makes a runner for `consumer` over `store`.
    public init(
        _ consumer: any EventConsumer, kind: SubscriptionStatus.Kind, store: any EventStore,
        configuration: Configuration = Configuration(), logger: Logger = Logger(label: "chronicle.subscription")
    ) {
        self.consumer = consumer
        self.kind = kind
        self.store = store
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "subscription"] = "\(consumer.name)"
        self.logger = logger
        self.status = Mutex(
            SubscriptionStatus(name: consumer.name, kind: kind, state: .starting, checkpoint: .start, processed: 0))
        let dimensions = [("subscription", consumer.name)]
        processedCounter = Counter(label: "chronicle_subscription_events_total", dimensions: dimensions)
        faultCounter = Counter(label: "chronicle_subscription_faults_total", dimensions: dimensions)
        checkpointGauge = Gauge(label: "chronicle_subscription_checkpoint", dimensions: dimensions)
    }

    /// The consumer's name.
    public var name: String { consumer.name }

    /// What the subscription is doing now.
    public var currentStatus: SubscriptionStatus { status.withLock { $0 } }

    /// Marks a runner that this process does not run (another worker owns it) as standing by.
    public func markStandby() {
        update { status in
            switch status.state {
            case .starting, .stopped: status.state = .standby
            default: break
            }
        }
    }

    /// Pauses after the batch in hand.
    public func pause() {
        control.withLock { $0.paused = true }
        poke()
    }

    /// Resumes a paused subscription, or retries a faulted one at its poison event.
    public func resume() {
        control.withLock {
            $0.paused = false
            $0.retryRequested = true
        }
        poke()
    }

    /// Asks a projection to drop its read model and rebuild it from the start of the log.
    /// - Throws: ``SubscriptionControlError/notAProjection(_:)`` for reactors (their effects must not repeat).
    public func requestRebuild() throws(SubscriptionControlError) {
        guard consumer is any Projection else { throw .notAProjection(name) }
        control.withLock {
            $0.rebuildRequested = true
            $0.retryRequested = true
        }
        poke()
    }

    /// Waits until the checkpoint reaches `position` or `timeout` passes; answers whether it did.
    public func waitUntilCaughtUp(to position: GlobalPosition, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while currentStatus.checkpoint < position {
            let now = ContinuousClock.now
            if now >= deadline || Task.isCancelled { return false }
            await progress.wait(after: GlobalPosition(rawValue: position.rawValue - 1), timeout: now.duration(to: deadline))
        }
        return true
    }

    /// Follows the log until the task is cancelled. Never throws: failures are states.
    public func run() async {
        defer { setState(.stopped) }
        var checkpoint: GlobalPosition
        while true {
            do {
                checkpoint = try await consumer.checkpoint()
                break
            } catch {
                // The database may be away for a moment: say so, and try again.
                if Task.isCancelled { return }
                setState(.faulted(position: .start, error: "cannot read the checkpoint: \(error)"))
                logger.warning("reading the checkpoint failed; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: configuration.pollInterval)
            }
        }
        update { $0.checkpoint = checkpoint }
        progress.announce(checkpoint)
        var faulted = false
        var retryDelay = configuration.firstRetryDelay
        while !Task.isCancelled {
            let (paused, rebuild, retry) = control.withLock { c in
                defer { c.rebuildRequested = false; c.retryRequested = false }
                return (c.paused, c.rebuildRequested, c.retryRequested)
            }
            if rebuild, let projection = consumer as? any Projection {
                do {
                    try await projection.reset()
                    checkpoint = try await consumer.checkpoint()
                    update { $0.checkpoint = checkpoint }
                    logger.info("projection reset for rebuild")
                } catch {
                    fault(at: checkpoint, error)
                    faulted = true
                }
            }
            if retry { faulted = false }
            if paused || faulted {
                if paused { setState(.paused) }
                await waitForControl()
                continue
            }
            setState(.running)
            let batch: [RecordedEvent]
            do {
                batch = try await store.nextEvents(
                    after: checkpoint, limit: configuration.batchSize, pollInterval: configuration.pollInterval,
                    maxWait: configuration.pollInterval)
            } catch {
                if Task.isCancelled { break }
                logger.warning("reading the log failed; retrying", metadata: ["error": "\(error)"])
                await waitForControl(timeout: configuration.pollInterval)
                continue
            }
            if batch.isEmpty {
                do {
                    try await consumer.idle()
                } catch {
                    if Task.isCancelled { break }
                    // Time-driven work that failed is tried again at the next poll, after a wait.
                    faultCounter.increment()
                    logger.warning("idle work failed; retrying", metadata: ["error": "\(error)", "delay": "\(retryDelay)"])
                    await waitForControl(timeout: retryDelay)
                    retryDelay = min(retryDelay * 2, configuration.maxRetryDelay)
                }
                continue
            }
            switch await consume(batch, after: checkpoint) {
            case .reached(let reached):
                checkpoint = reached
                retryDelay = configuration.firstRetryDelay
            case .failed where Task.isCancelled:
                return
            case .failed(let position, let error) where TransientFailure.isTransient(error):
                // Storage that cannot take the write now (disk full, connection lost) is no poison event:
                // say so, wait, and try the same events again, without an operator.
                setState(.faulted(position: position, error: "retrying in \(retryDelay): \(error)"))
                faultCounter.increment()
                logger.warning(
                    "a batch failed for a passing reason; retrying", metadata: ["position": "\(position)", "error": "\(error)", "delay": "\(retryDelay)"])
                await waitForControl(timeout: retryDelay)
                retryDelay = min(retryDelay * 2, configuration.maxRetryDelay)
                checkpoint = (try? await consumer.checkpoint()) ?? checkpoint
            case .failed(let position, let error):
                fault(at: position, error)
                faulted = true
                checkpoint = (try? await consumer.checkpoint()) ?? checkpoint
            }
        }
    }

    /// What handing a batch over came to.
    private enum Consumed {
        /// Every event was taken in, up to this position.
        case reached(GlobalPosition)
        /// The event at `position` failed with `error` (events before it may have been taken in).
        case failed(position: GlobalPosition, error: any Error)
    }

    /// Hands a batch over; on failure, one event at a time to find the failing event.
    private func consume(_ batch: [RecordedEvent], after checkpoint: GlobalPosition) async -> Consumed {
        do {
            try await consumer.consume(batch)
            advance(to: batch[batch.count - 1].position, count: batch.count)
            return .reached(batch[batch.count - 1].position)
        } catch {
            // One event, or storage that failed for a passing reason: no poison event to look for.
            if Task.isCancelled || batch.count == 1 || TransientFailure.isTransient(error) {
                return .failed(position: batch[0].position, error: error)
            }
        }
        for event in batch {
            do {
                try await consumer.consume([event])
                advance(to: event.position, count: 1)
            } catch {
                return .failed(position: event.position, error: error)
            }
        }
        return .reached(batch[batch.count - 1].position)
    }

    private func advance(to position: GlobalPosition, count: Int) {
        update {
            $0.checkpoint = position
            $0.processed += count
        }
        processedCounter.increment(by: count)
        checkpointGauge.record(position.rawValue)
        progress.announce(position)
    }

    private func fault(at position: GlobalPosition, _ error: any Error) {
        setState(.faulted(position: position, error: String(describing: error)))
        faultCounter.increment()
        logger.error(
            "subscription stopped at a failing event", metadata: ["position": "\(position)", "error": "\(error)"])
    }

    private func setState(_ state: SubscriptionStatus.State) { update { $0.state = state } }
    private func update(_ body: (inout SubscriptionStatus) -> Void) { status.withLock { body(&$0) } }

    private func poke() {
        let generation = controlGeneration.withLock { g in
            g += 1
            return g
        }
        wakeUp.announce(GlobalPosition(rawValue: generation))
    }

    private func waitForControl(timeout: Duration = .seconds(3600)) async {
        let seen = wakeUp.latest
        let pending = control.withLock { $0.retryRequested || $0.rebuildRequested }
        if pending { return }
        await wakeUp.wait(after: seen, timeout: timeout)
    }
}

/// A control action that does not apply to a subscription.
public enum SubscriptionControlError: Error, Equatable, CustomStringConvertible {
    /// Only projections can be rebuilt.
    case notAProjection(String)
    public var description: String {
        switch self {
        case .notAProjection(let name): "\(name) is not a projection: only projections can be rebuilt"
        }
    }
}

/// Tells failures that may pass (retry later) from failures that will not (stop loudly).
public enum TransientFailure {
    /// Whether `error` may pass on its own: storage unavailable (``EventStoreError/unavailable(_:)``), or a
    /// file write that failed for lack of space or an I/O error.
    public static func isTransient(_ error: any Error) -> Bool {
        if let error = error as? EventStoreError { return error.isTransient }
        let error = error as NSError
        if error.domain == NSPOSIXErrorDomain { return [ENOSPC, EDQUOT, EIO, EAGAIN].contains(Int32(error.code)) }
        if error.domain == NSCocoaErrorDomain {
            if error.code == CocoaError.fileWriteOutOfSpace.rawValue { return true }
            if let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError { return isTransient(underlying) }
        }
        return false
    }
}
