import Chronicle
import ChronicleTesting
import Foundation
import Testing

@Suite struct DeciderTests {
    @Test func givenWhenThenSpecifiesTheCounter() {
        Counter.given().when(.increment(by: 3)).then(.incremented(by: 3))
        Counter.given(.incremented(by: 8)).when(.increment(by: 3)).thenRejects(.wouldPassTheCeiling)
        Counter.given(.incremented(by: 8), .wasReset).when(.increment(by: 3)).then(.incremented(by: 3))
        Counter.given().when(.reset).then()
    }
}

@Suite struct CommandHandlerTests {
    let stream = try! StreamName("counter-1")  // safe: a literal valid name

    @Test func acceptsAndAppendsWithTheNewVersionAndPosition() async throws {
        let store = InMemoryEventStore()
        let handler = CommandHandler<Counter, Counter.Codec>(store: store, codec: Counter.Codec())
        guard case let .accepted(events, version, position) = try await handler.handle(.increment(by: 2), on: stream) else {
            Issue.record("expected accepted")
            return
        }
        #expect(events == [.incremented(by: 2)])
        #expect(version == 1 && position == 1)
        guard case .accepted = try await handler.handle(.increment(by: 3), on: stream) else { return #expect(Bool(false)) }
        #expect(try await handler.load(stream).state.value == 5)
    }

    @Test func rejectsWithTheRuleAndWritesNothing() async throws {
        let store = InMemoryEventStore()
        let handler = CommandHandler<Counter, Counter.Codec>(store: store, codec: Counter.Codec())
        _ = try await handler.handle(.increment(by: 9), on: stream)
        guard case .rejected(let rejection) = try await handler.handle(.increment(by: 2), on: stream) else {
            Issue.record("expected rejected")
            return
        }
        #expect(rejection == .wouldPassTheCeiling)
        #expect(try await store.headPosition() == 1)
    }

    @Test func aNoOpAppendsNothing() async throws {
        let store = InMemoryEventStore()
        let handler = CommandHandler<Counter, Counter.Codec>(store: store, codec: Counter.Codec())
        guard case let .accepted(events, version, position) = try await handler.handle(.reset, on: stream) else {
            Issue.record("expected accepted")
            return
        }
        #expect(events.isEmpty && version == 0 && position == nil)
        #expect(try await store.headPosition() == .start)
    }

    @Test func decidesAgainWhenAnotherWriterWonTheRace() async throws {
        let store = InterferingStore(base: InMemoryEventStore(), interferences: 1)
        let handler = CommandHandler<Counter, Counter.Codec>(store: store, codec: Counter.Codec())
        // The interfering writer adds 8 between load and append; deciding again must see it and reject.
        guard case .rejected(let rejection) = try await handler.handle(.increment(by: 3), on: stream) else {
            Issue.record("expected the second decision to reject")
            return
        }
        #expect(rejection == .wouldPassTheCeiling)
        #expect(store.appendAttempts.load(ordering: .relaxed) == 1)
        #expect(try await store.version(of: stream) == 1)  // only the rival's event
    }

    @Test func givesUpWithTheConflictAfterBoundedRetries() async throws {
        let store = InterferingStore(base: InMemoryEventStore(), interferences: 100, step: 0)
        let handler = CommandHandler<Counter, Counter.Codec>(store: store, codec: Counter.Codec(), maxAttempts: 3)
        await #expect(throws: EventStoreError.self) { try await handler.handle(.increment(by: 1), on: stream) }
        #expect(store.appendAttempts.load(ordering: .relaxed) == 3)
    }
}

@Suite struct CodecTests {
    @Test func upcastsAnOldSchemaVersionOnRead() throws {
        let old = EncodedEvent(type: "CounterIncremented", schemaVersion: 1, data: Data("{\"step\":4}".utf8))
        #expect(try Counter.Codec().decode(old) == .incremented(by: 4))
    }

    @Test func anUnknownTypeIsAClearError() {
        #expect(throws: CodecError.unknownType("CounterExploded")) {
            try Counter.Codec().decode(EncodedEvent(type: "CounterExploded", schemaVersion: 1, data: Data("{}".utf8)))
        }
        #expect(throws: CodecError.unsupportedSchemaVersion(type: "CounterReset", version: 7)) {
            try Counter.Codec().decode(EncodedEvent(type: "CounterReset", schemaVersion: 7, data: Data("{}".utf8)))
        }
    }
}
