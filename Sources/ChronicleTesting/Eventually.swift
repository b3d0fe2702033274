import Chronicle
import Foundation
import Synchronization
import Testing

/// Waits until `condition` holds, checking every 10 ms, and records an issue if it does not within
/// `timeout`: a deadline, never a fixed sleep.
/// - Returns: whether the condition held in time.
@discardableResult
public func eventually(
    timeout: Duration = .seconds(10), _ what: String = "condition", sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    if try await condition() { return true }
    Issue.record("\(what) not met within \(timeout)", sourceLocation: sourceLocation)
    return false
}

/// A fresh directory under the system temp folder, removed when the value is released.
public final class TemporaryDirectory: Sendable {
    /// The directory.
    public let url: URL

    /// Creates the directory.
    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("chronicle-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// A path inside the directory.
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// Tails the log of `store` while `writers` run, and answers the events the tail saw: all `count` of
/// them, or, when `timeout` passes first (counted from the writers' end), those seen so far — so that
/// a test of gaps and order fails with what it saw instead of hanging.
public func tailLog(
    of store: any EventStore, expecting count: Int, after position: GlobalPosition = .start, batchSize: Int = 50,
    pollInterval: Duration = .milliseconds(20), timeout: Duration = .seconds(60),
    while writers: @escaping @Sendable () async throws -> Void
) async throws -> [RecordedEvent] {
    let seen = SeenEvents()
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
            for try await event in store.subscribe(after: position, batchSize: batchSize, pollInterval: pollInterval) {
                if seen.add(event) >= count { return }
            }
        }
        try await writers()
        group.addTask { try await Task.sleep(for: timeout) }
        try await group.next()
        group.cancelAll()
    }
    return seen.all
}

private final class SeenEvents: Sendable {
    private let events = Mutex<[RecordedEvent]>([])
    func add(_ event: RecordedEvent) -> Int {
        events.withLock {
            $0.append(event); return $0.count
        }
    }
    var all: [RecordedEvent] { events.withLock { $0 } }
}
