import Synchronization

/// A broadcaster of "something reached position p": the wake-up hint that lets live readers sleep
/// until a commit (or a projector's checkpoint) moves, instead of polling hot.
///
/// It never carries events: a woken reader still reads by position. Waiting is race-free: a waiter
/// registers only while the latest announced position is not beyond the one it has seen.
public final class PositionSignal: Sendable {
    private struct State {
        var latest = GlobalPosition.start
        var nextId = 0
        var waiters: [Int: (position: GlobalPosition, continuation: CheckedContinuation<Void, Never>)] = [:]
    }

    private let state = Mutex(State())

    /// Makes a signal at ``GlobalPosition/start``.
    public init() {}

    /// The highest position announced so far.
    public var latest: GlobalPosition { state.withLock { $0.latest } }

    /// Announces that `position` was reached; wakes every waiter that waits for less.
    public func announce(_ position: GlobalPosition) {
        let woken: [CheckedContinuation<Void, Never>] = state.withLock { state in
            guard position > state.latest else { return [] }
            state.latest = position
            let ready = state.waiters.filter { $0.value.position < position }
            for key in ready.keys { state.waiters[key] = nil }
            return ready.values.map(\.continuation)
        }
        for continuation in woken { continuation.resume() }
    }

    /// Returns once a position above `position` is announced, `timeout` has passed, or the task is cancelled.
    /// - Returns: whether a position above `position` has been announced.
    @discardableResult
    public func wait(after position: GlobalPosition, timeout: Duration) async -> Bool {
        if latest > position { return true }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitIndefinitely(after: position) }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
        return latest > position
    }

    private func waitIndefinitely(after position: GlobalPosition) async {
        let id = state.withLock { state in
            state.nextId += 1
            return state.nextId
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let registered = state.withLock { state in
                    guard state.latest <= position, !Task.isCancelled else { return false }
                    state.waiters[id] = (position, continuation)
                    return true
                }
                if !registered { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.continuation.resume()
        }
    }
}
