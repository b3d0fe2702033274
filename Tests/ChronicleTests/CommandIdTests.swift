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
        await #expect(throws: CommandError.self) {
            _ = try await handler(store).handle(.add(5), on: try StreamName("till-4"), commandId: command)
        }
        #expect(try await store.version(of: try StreamName("till-4")) == 0)
    }

    /// A command id identifies one command: the same id with another type or body is refused and stores
    /// nothing; with the same fingerprint it is answered with its first outcome.
    @Test func aCommandIdSentWithAnotherBodyIsRefused() async throws {
        let store = InMemoryEventStore()
        let till = try StreamName("till-5")
        let id = UUID()
        let one = CommandIdentity(id: id, fingerprint: CommandIdentity.fingerprint(type: "AddToTill", body: Array(#"{"amount":1}"#.utf8)))
        let two = CommandIdentity(id: id, fingerprint: CommandIdentity.fingerprint(type: "AddToTill", body: Array(#"{"amount":2}"#.utf8)))
        let first = try #require(accepted(try await handler(store).handle(.add(1), on: till, identity: one)))
        await #expect(throws: CommandError.commandIdReused(id, reason: "it was sent with another type or body")) {
            _ = try await handler(store).handle(.add(2), on: till, identity: two)
        }
        #expect(try await store.version(of: till) == 1)
        let again = try #require(accepted(try await handler(store).handle(.add(1), on: till, identity: one)))
        #expect(again.position == first.position)
        #expect(try await store.version(of: till) == 1)
    }

    /// A process manager's commands derive their events' ids in another namespace than clients' do, so a
    /// client that sends a process manager's command id first (the id is computable from public event
    /// ids) neither pre-empts the process's command nor has it answered with the client's outcome.
    @Test func aClientCannotPreemptAProcessManagersCommandId() async throws {
        let store = InMemoryEventStore()
        let till = try StreamName("till-6")
        let id = UUID.processCommand(0, of: "a_process", causedBy: UUID())
        let client = CommandIdentity(id: id, origin: .client, fingerprint: CommandIdentity.fingerprint(type: "AddToTill", body: Array("1".utf8)))
        let process = CommandIdentity(id: id, origin: .process, fingerprint: CommandIdentity.fingerprint(type: "CreditTill", body: Array("7".utf8)))
        _ = try #require(accepted(try await handler(store).handle(.add(1), on: till, identity: client)))
        let credited = try #require(accepted(try await handler(store).handle(.add(7), on: till, identity: process)))
        #expect(credited.events == [.added(7)])
        #expect(try await handler(store).load(till).state.total == 8)
        // And the process's command, sent again, still applies once.
        _ = try await handler(store).handle(.add(7), on: till, identity: process)
        #expect(try await handler(store).load(till).state.total == 8)
        #expect(UUID.event(0, ofCommand: id) != UUID.event(0, ofProcessCommand: id))
    }

    /// A process manager's command sent before process commands had their own namespace (its events
    /// carry no fingerprint) is still recognised when the process sends it again after an upgrade.
    @Test func aProcessCommandAppliedBeforeTheUpgradeIsNotAppliedAgain() async throws {
        let store = InMemoryEventStore()
        let till = try StreamName("till-7")
        let id = UUID()
        _ = try await handler(store).handle(.add(3), on: till, commandId: id)  // as the old code sent it
        let process = CommandIdentity(id: id, origin: .process, fingerprint: CommandIdentity.fingerprint(type: "AddToTill", body: Array("3".utf8)))
        _ = try await handler(store).handle(.add(3), on: till, identity: process)
        #expect(try await handler(store).load(till).state.total == 3)
    }

    /// Whatever a command stores, its codec can read back: an event that would not decode is refused
    /// before it is appended (it would stop every read model at it).
    @Test func anEventTheCodecCannotReadBackIsNeverStored() async throws {
        struct HalfCodec: EventCodec {
            func encode(_ event: Till.Event) throws -> EncodedEvent { try Till.Codec().encode(event) }
            func decode(_ encoded: EncodedEvent) throws -> Till.Event {
                let event = try Till.Codec().decode(encoded)
                guard case .added(let amount) = event, amount < 500 else { throw CodecError.malformed(type: encoded.type, reason: "too much") }
                return event
            }
        }
        let store = InMemoryEventStore()
        let till = try StreamName("till-8")
        let handler = CommandHandler<Till, HalfCodec>(store: store, codec: HalfCodec())
        _ = try await handler.handle(.add(10), on: till)
        await #expect(throws: CommandError.self) { _ = try await handler.handle(.add(600), on: till) }
        #expect(try await store.version(of: till) == 1)
    }
}
