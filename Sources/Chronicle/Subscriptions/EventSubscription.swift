/// What a live reader reads: the whole log, or one category of it.
public enum LogFilter: Hashable, Sendable {
    /// Every event.
    case all
    /// Only the streams of one category (`todo` reads `todo-*`).
    case category(String)
}

extension EventStore {
    /// Reads the next events after `position`, waiting up to `maxWait` for one to be committed.
    ///
    /// Reads always go by position; the store's ``appendSignal`` only shortens the wait. A commit made by
    /// another process is found by reading again after `pollInterval`.
    /// - Returns: the next events in order, or an empty array when `maxWait` passed without any.
    public func nextEvents(
        after position: GlobalPosition, filter: LogFilter = .all, limit: Int,
        pollInterval: Duration = .milliseconds(250), maxWait: Duration = .seconds(1)
    ) async throws -> [RecordedEvent] {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: maxWait)
        while true {
            // Read the signal before the log: a commit after this line either shows in the read below
            // or moves the signal past `seen`, so the wait cannot miss it.
            let seen = appendSignal.latest
            let batch: [RecordedEvent]
            switch filter {
            case .all: batch = try await readAll(after: position, limit: limit)
            case .category(let category): batch = try await readCategory(category, after: position, limit: limit)
            }
            if !batch.isEmpty { return batch }
            let now = clock.now
            if now >= deadline || Task.isCancelled { return [] }
            let remaining = now.duration(to: deadline)
            await appendSignal.wait(after: max(seen, position), timeout: min(pollInterval, remaining))
        }
    }

    /// The events after `position`, first those already stored (catch-up), then live ones as they are
    /// committed, without a gap or a duplicate at the hand-over: both phases read by position.
    public func subscribe(
        after position: GlobalPosition = .start, filter: LogFilter = .all, batchSize: Int = 500,
        pollInterval: Duration = .milliseconds(250)
    ) -> EventSubscription {
        EventSubscription(store: self, after: position, filter: filter, batchSize: batchSize, pollInterval: pollInterval)
    }
}

/// An endless `AsyncSequence` of the log's events after a checkpoint: catch-up, then live.
/// It ends (returns nil) when its task is cancelled and throws when the store fails.
public struct EventSubscription: AsyncSequence, Sendable {
    public typealias Element = RecordedEvent
    let store: any EventStore
    let after: GlobalPosition
    let filter: LogFilter
    let batchSize: Int
    let pollInterval: Duration

    public func makeAsyncIterator() -> Iterator {
        Iterator(subscription: self, checkpoint: after)
    }

    /// Reads a batch at a time, hands out one event at a time.
    public struct Iterator: AsyncIteratorProtocol {
        let subscription: EventSubscription
        var checkpoint: GlobalPosition
        var buffer: [RecordedEvent] = []
        var index = 0

        public mutating func next() async throws -> RecordedEvent? {
            while index >= buffer.count {
                if Task.isCancelled { return nil }
                buffer = try await subscription.store.nextEvents(
                    after: checkpoint, filter: subscription.filter, limit: subscription.batchSize,
                    pollInterval: subscription.pollInterval, maxWait: subscription.pollInterval)
                index = 0
            }
            let event = buffer[index]
            index += 1
            checkpoint = event.position
            return event
        }
    }
}
