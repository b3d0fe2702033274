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

/// Group commit: requests handed in by many tasks are written together, one batch per commit, and each
/// request is answered once the commit that holds it has been made. Everything handed in while one batch
/// is written goes into the next. The one implementation behind every store's appends and SQLite's
/// projection writes.
public final class GroupCommit<Request: Sendable, Answer: Sendable>: Sendable {
    /// Writes one batch in one commit: each request's own outcome, in order (one request's failure is
    /// its own), or a thrown error when the commit was not made — then every request of the batch fails
    /// with it, nothing of the batch being stored.
    public typealias Write = @Sendable ([Request]) async throws -> [Result<Answer, any Error>]

    private let queue = WorkQueue<(request: Request, answer: CheckedContinuation<Answer, any Error>)>()
    /// The most requests one commit takes.
    public let maxBatch: Int

    /// Group commits of at most `maxBatch` requests each.
    public init(maxBatch: Int) {
        self.maxBatch = maxBatch
    }

    /// Hands `request` in and waits for its answer. The first request to find no batch being written
    /// writes with `write`, in a task of its own (never cancelled half-way by its caller), batch after
    /// batch until none is left; the others wait for it.
    public func submit(_ request: Request, write: @escaping Write) async throws -> Answer {
        try await withCheckedThrowingContinuation { answer in
            if queue.enqueue((request, answer)) { Task { await self.work(write) } }
        }
    }

    private func work(_ write: Write) async {
        while let batch = queue.next(upTo: maxBatch) {
            do {
                let outcomes = try await write(batch.map(\.request))
                guard outcomes.count == batch.count else {
                    throw EventStoreError.storage("a group commit answered \(outcomes.count) of \(batch.count) requests")
                }
                for (item, outcome) in zip(batch, outcomes) { item.answer.resume(with: outcome) }
            } catch {
                for item in batch { item.answer.resume(throwing: error) }
            }
        }
    }
}
