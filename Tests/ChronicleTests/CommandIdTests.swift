import Chronicle
import ChronicleTesting
import Foundation
import Testing

/// A command sent again with the same client-chosen command id is applied once and answered as before.
@Suite struct CommandIdTests {
    private func handler(_ store: any EventStore) -> CommandHandler<Till, Till.Codec> {
        CommandHandler(store: store, codec: Till.Codec())
    }

    private func accepted(_ outcome: CommandOutcome<Till.Event, Till.Rejection>) -> (events: [Till.Event], version: StreamVersion, position: GlobalPosition?)? {
        if case let .accepted(events, version, position) = outcome { (events, version, position) } else { nil }
    }

    @Test func eventIdsDerivedFromACommandIdAreStableVersion5AndDistinct() throws {
        let command = UUID()
        #expect(UUID.event(0, ofCommand: command) == UUID.event(0, ofCommand: command))
        #expect(UUID.event(0, ofCommand: command) != UUID.event(1, ofCommand: command))
        #expect(UUID.event(0, ofCommand: command) != UUID.event(0, ofCommand: UUID()))
        // RFC 9562's own example: the DNS namespace and "www.example.com".
        let dns = try #require(UUID(uuidString: "6ba7b810-9dad-11d1-80b4-00c04fd430c8"))
        #expect(UUID(namespace: dns, name: Array("www.example.com".utf8)).lowercasedString == "2ed6657d-e927-568b-95e1-2665a8aea6a2")
    }

    @Test func aCommandSentTwiceIsAppliedOnceAndAnsweredAlike() async throws {
        let store = InMemoryEventStore()
        let till = try StreamName("till-1")
        let deposit = UUID()
        let first = try #require(accepted(try await handler(store).handle(.add(260), on: till, commandId: deposit)))
        _ = try await handler(store).handle(.add(540), on: till)
        // The retry comes after another command, and deciding it again now would refuse it (over the
        // till's limit): still the first answer, and nothing new stored.
        let again = try #require(accepted(try await handler(store).handle(.add(260), on: till, commandId: deposit)))
        #expect(again.events == first.events)
        #expect(again.version == first.version)
        #expect(again.position == first.position)
        #expect(try await store.version(of: till) == 2)
        #expect(try await handler(store).load(till).state.total == 800)
        // Another command id is another command.
        _ = try await handler(store).handle(.add(100), on: till, commandId: UUID())
        #expect(try await handler(store).load(till).state.total == 900)
    }

    @Test func concurrentSendsOfOneCommandApplyItOnce() async throws {
        let store = InMemoryEventStore()
        let till = try StreamName("till-2")
        let deposit = UUID()
        let answers = try await withThrowingTaskGroup(of: GlobalPosition?.self) { group in
            for _ in 0..<8 {
                group.addTask { self.accepted(try await self.handler(store).handle(.add(5), on: till, commandId: deposit))?.position }
            }
            var all: [GlobalPosition?] = []
            for try await answer in group { all.append(answer) }
            return all
        }
        #expect(Set(answers).count == 1)
        #expect(answers.first??.rawValue == 1)
        #expect(try await store.version(of: till) == 1)
    }

    @Test func aCommandIdUsedOnAnotherStreamIsRefused() async throws {
        let store = InMemoryEventStore()
        let command = UUID()
        _ = try await handler(store).handle(.add(5), on: try StreamName("till-3"), commandId: command)
        await #expect(throws: EventStoreError.self) {
            _ = try await handler(store).handle(.add(5), on: try StreamName("till-4"), commandId: command)
        }
        #expect(try await store.version(of: try StreamName("till-4")) == 0)
    }
}
