import Synchronization

/// Work handed in by many tasks and taken out in batches by one worker at a time: the first to hand
/// in work while no worker is at it becomes the worker, and stays one until the queue is empty. The
/// heart of group commit: everything queued while one batch is written goes into the next.
public final class WorkQueue<Item: Sendable>: Sendable {
    private struct State {
        var items: [Item] = []
        var working = false
    }

    private let state = Mutex(State())

    /// An empty queue.
    public init() {}

    /// Queues `item`; answers true when the caller must now work the queue (take ``next(upTo:)`` until nil).
    public func enqueue(_ item: Item) -> Bool {
        state.withLock { state in
            state.items.append(item)
            if state.working { return false }
            state.working = true
            return true
        }
    }

    /// Up to `limit` items, oldest first; nil when none is left, which ends the caller's turn as worker.
    public func next(upTo limit: Int) -> [Item]? {
        state.withLock { state in
            guard !state.items.isEmpty else {
                state.working = false
                return nil
            }
            let batch = Array(state.items.prefix(limit))
            state.items.removeFirst(batch.count)
            return batch
        }
    }
}
