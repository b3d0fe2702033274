import Chronicle
import ChronicleTesting
import Synchronization
import Foundation
import Testing

@Suite struct SubscriptionRunnerTests {
    let codec = Counter.Codec()

    func append(_ store: InMemoryEventStore, _ events: [Counter.Event]) async throws {
        let stream = try StreamName("counter-1")
        for event in events {
            let e = try codec.encode(event)
            _ = try await store.append([NewEvent(id: UUID(), type: e.type, schemaVersion: e.schemaVersion, data: e.data)], to: stream, expecting: .any)
        }
    }

    func totals(_ codec: Counter.Codec) -> InMemoryProjection<Int> {
        InMemoryProjection(name: "totals", initial: 0) { total, event in
            switch try codec.decode(event) {
            case .incremented(let by): total + by
            case .wasReset: 0
            }
        }
    }

    @Test func aProjectionFollowsTheLogLive() async throws {
        let store = InMemoryEventStore()
        try await append(store, [.incremented(by: 1), .incremented(by: 2)])
        let projection = totals(codec)
        let runner = SubscriptionRunner(projection, kind: .projection, store: store)
        let task = Task { await runner.run() }
        defer { task.cancel() }
        #expect(await runner.waitUntilCaughtUp(to: 2, timeout: .seconds(10)))
        #expect(projection.state == 3)
        try await append(store, [.incremented(by: 4)])
        #expect(await runner.waitUntilCaughtUp(to: 3, timeout: .seconds(10)))
        #expect(projection.state == 7)
        #expect(runner.currentStatus.state == .running)
    }

    /// A consumer whose storage is away (a full disk) for its first `failures` attempts.
    final class FlakyStorage: EventConsumer {
        let name = "flaky_storage"
        let failures: Int
        let attempts = Mutex(0)
        let checkpointed = Mutex(GlobalPosition.start)
        init(failures: Int) { self.failures = failures }
        func checkpoint() async throws -> GlobalPosition { checkpointed.withLock { $0 } }
        func consume(_ events: [RecordedEvent]) async throws {
            let attempt = attempts.withLock { n in
                n += 1
                return n
            }
            if attempt <= failures { throw EventStoreError.unavailable("the disk is full") }
            if let last = events.last { checkpointed.withLock { $0 = last.position } }
        }
    }

    /// A batch that fails for a passing reason is retried on its own, with backoff, until it goes
    /// through: no operator has to press resume after a full disk was cleared.
    @Test func aPassingStorageFailureIsRetriedWithoutAnOperator() async throws {
        let store = InMemoryEventStore()
        try await append(store, [.incremented(by: 1), .incremented(by: 2)])
        let consumer = FlakyStorage(failures: 3)
        var configuration = SubscriptionRunner.Configuration()
        configuration.firstRetryDelay = .milliseconds(10)
        let runner = SubscriptionRunner(consumer, kind: .projection, store: store, configuration: configuration)
        let task = Task { await runner.run() }
        defer { task.cancel() }
        #expect(await runner.waitUntilCaughtUp(to: 2, timeout: .seconds(10)))
        #expect(consumer.attempts.withLock { $0 } == 4)
        #expect(runner.currentStatus.state == .running)
    }

    @Test func anUnknownEventTypeStopsTheSubscriptionAtItsPosition() async throws {
        let store = InMemoryEventStore()
        try await append(store, [.incremented(by: 1), .incremented(by: 2)])
        _ = try await store.append(
            [NewEvent(id: UUID(), type: "CounterExploded", data: Data("{}".utf8))], to: try StreamName("counter-1"), expecting: .any)
        try await append(store, [.incremented(by: 4)])
        let projection = totals(codec)
        let runner = SubscriptionRunner(projection, kind: .projection, store: store)
        let task = Task { await runner.run() }
        defer { task.cancel() }
        await eventually { runner.currentStatus.state != .running && runner.currentStatus.state != .starting }
        #expect(runner.currentStatus.state == .faulted(position: 3, error: "unknown event type \"CounterExploded\""))
        // Everything before the poison event is applied; nothing after it.
        #expect(projection.checkpoint() == 2)
        #expect(projection.state == 3)
        #expect(runner.currentStatus.checkpoint == 2)
        // It stays stopped: no later event is taken in while faulted.
        try await append(store, [.incremented(by: 1)])
        #expect(await runner.waitUntilCaughtUp(to: 5, timeout: .milliseconds(300)) == false)
        #expect(projection.state == 3)
    }

    @Test func aCheckpointThatCannotBeReadIsRetriedNotGivenUp() async throws {
        final class Flaky: EventConsumer {
            let name = "flaky"
            let failures = Atomic<Int>(2)
            let inner: InMemoryProjection<Int>
            init(inner: InMemoryProjection<Int>) { self.inner = inner }
            func checkpoint() async throws -> GlobalPosition {
                if failures.subtract(1, ordering: .relaxed).oldValue > 0 { throw CodecError.malformed(type: "checkpoint", reason: "database away") }
                return inner.checkpoint()
            }
            func consume(_ events: [RecordedEvent]) async throws { try inner.consume(events) }
        }
        let store = InMemoryEventStore()
        try await append(store, [.incremented(by: 5)])
        let projection = totals(codec)
        var configuration = SubscriptionRunner.Configuration()
        configuration.pollInterval = .milliseconds(20)
        let runner = SubscriptionRunner(Flaky(inner: projection), kind: .projection, store: store, configuration: configuration)
        let task = Task { await runner.run() }
        defer { task.cancel() }
        #expect(await runner.waitUntilCaughtUp(to: 1, timeout: .seconds(10)))
        #expect(projection.state == 5)
        #expect(runner.currentStatus.state == .running)
    }

    @Test func pauseStopsTakingEventsAndResumeCatchesUp() async throws {
        let store = InMemoryEventStore()
        let projection = totals(codec)
        let runner = SubscriptionRunner(projection, kind: .projection, store: store)
        let task = Task { await runner.run() }
        defer { task.cancel() }
        try await append(store, [.incremented(by: 1)])
        #expect(await runner.waitUntilCaughtUp(to: 1, timeout: .seconds(10)))
        runner.pause()
        await eventually { runner.currentStatus.state == .paused }
        try await append(store, [.incremented(by: 2)])
        #expect(await runner.waitUntilCaughtUp(to: 2, timeout: .milliseconds(300)) == false)
        runner.resume()
        #expect(await runner.waitUntilCaughtUp(to: 2, timeout: .seconds(10)))
        #expect(projection.state == 3)
    }

    @Test func rebuildResetsAProjectionButNeverAReactor() async throws {
        let store = InMemoryEventStore()
        try await append(store, [.incremented(by: 1), .incremented(by: 2)])
        let projection = totals(codec)
        let runner = SubscriptionRunner(projection, kind: .projection, store: store)
        let task = Task { await runner.run() }
        defer { task.cancel() }
        #expect(await runner.waitUntilCaughtUp(to: 2, timeout: .seconds(10)))
        try runner.requestRebuild()
        await eventually { runner.currentStatus.processed == 4 }
        #expect(projection.state == 3)

        struct Noop: Reactor {
            let name = "noop"
            func react(to event: RecordedEvent) async throws {}
        }
        let reactor = SubscriptionRunner(ReactorConsumer(Noop(), checkpoints: InMemoryCheckpointStore()), kind: .reactor, store: store)
        #expect(throws: SubscriptionControlError.notAProjection("noop")) { try reactor.requestRebuild() }
    }

    @Test func aReactorKeepsItsOwnCheckpoint() async throws {
        let store = InMemoryEventStore()
        try await append(store, [.incremented(by: 1), .incremented(by: 2)])
        let checkpoints = InMemoryCheckpointStore()
        final class Seen: Reactor, Sendable {
            let name = "seen"
            let positions = PositionLog()
            func react(to event: RecordedEvent) async throws { positions.add(event.position) }
        }
        let seen = Seen()
        let runner = SubscriptionRunner(ReactorConsumer(seen, checkpoints: checkpoints), kind: .reactor, store: store)
        let task = Task { await runner.run() }
        #expect(await runner.waitUntilCaughtUp(to: 2, timeout: .seconds(10)))
        task.cancel()
        await task.value
        #expect(runner.currentStatus.state == .stopped)
        #expect(checkpoints.checkpoint(for: "seen") == 2)
        // A second run starts from the checkpoint: nothing is handled twice.
        try await append(store, [.incremented(by: 3)])
        let again = SubscriptionRunner(ReactorConsumer(seen, checkpoints: checkpoints), kind: .reactor, store: store)
        let task2 = Task { await again.run() }
        defer { task2.cancel() }
        #expect(await again.waitUntilCaughtUp(to: 3, timeout: .seconds(10)))
        #expect(seen.positions.all == [1, 2, 3])
    }
}

final class PositionLog: Sendable {
    private let value = Mutex<[GlobalPosition]>([])
    func add(_ p: GlobalPosition) { value.withLock { $0.append(p) } }
    var all: [GlobalPosition] { value.withLock { $0 } }
}
