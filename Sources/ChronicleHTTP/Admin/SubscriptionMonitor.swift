import Chronicle
import Foundation
import Synchronization

/// Samples the log's head and every subscription's checkpoint at a fixed interval, keeping the last
/// minutes for the admin console's chart and its events-per-second figures.
public final class SubscriptionMonitor: Sendable {
    /// One sample.
    public struct Sample: Sendable, Encodable {
        /// When it was taken.
        public let at: Date
        /// The log's head.
        public let head: Int64
        /// Each subscription's lag behind the head.
        public let lags: [String: Int64]
        /// Each subscription's processed count (for rates; not sent).
        let processed: [String: Int]

        enum CodingKeys: String, CodingKey { case at, head, lags }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(EventBody.timestamp(at), forKey: .at)
            try c.encode(head, forKey: .head)
            try c.encode(lags, forKey: .lags)
        }
    }

    /// The subscriptions watched.
    public let runners: [SubscriptionRunner]
    /// Time between samples (default 2 s).
    public let interval: Duration
    /// How many samples are kept (default 300: ten minutes at 2 s).
    public let capacity: Int
    private let store: any EventStore
    private let checkpoints: (any CheckpointStore)?
    private let samples = Mutex<[Sample]>([])

    /// Watches `runners` over `store`; a runner another process runs is read from `checkpoints`.
    public init(
        runners: [SubscriptionRunner], store: any EventStore, checkpoints: (any CheckpointStore)? = nil,
        interval: Duration = .seconds(2), capacity: Int = 300
    ) {
        self.runners = runners
        self.store = store
        self.checkpoints = checkpoints
        self.interval = interval
        self.capacity = max(2, capacity)
    }

    /// The samples kept, oldest first.
    public var history: [Sample] { samples.withLock { $0 } }

    /// Takes one sample now.
    public func sample() async {
        guard let head = try? await store.headPosition() else { return }
        var lags: [String: Int64] = [:]
        var processed: [String: Int] = [:]
        for runner in runners {
            var status = runner.currentStatus
            if status.state == .standby, let stored = try? await checkpoints?.checkpoint(for: runner.name) {
                status.checkpoint = stored
            }
            lags[runner.name] = max(0, head.rawValue - status.checkpoint.rawValue)
            processed[runner.name] = status.processed
        }
        let sample = Sample(at: Date(), head: head.rawValue, lags: lags, processed: processed)
        samples.withLock { samples in
            samples.append(sample)
            if samples.count > capacity { samples.removeFirst(samples.count - capacity) }
        }
    }

    /// Events per second a subscription took in between the last two samples.
    public func eventsPerSecond(_ name: String) -> Double {
        samples.withLock { samples in
            guard samples.count >= 2 else { return 0 }
            let (a, b) = (samples[samples.count - 2], samples[samples.count - 1])
            let seconds = b.at.timeIntervalSince(a.at)
            guard seconds > 0, let before = a.processed[name], let after = b.processed[name] else { return 0 }
            return Double(max(0, after - before)) / seconds
        }
    }

    /// Samples until the task is cancelled.
    public func run() async {
        while !Task.isCancelled {
            await sample()
            try? await Task.sleep(for: interval)
        }
    }
}
