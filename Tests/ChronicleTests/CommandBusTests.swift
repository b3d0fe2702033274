import Chronicle
import ChronicleTesting
import Foundation
import Testing

struct AddToTill: NamedCommand {
    static let typeName = "AddToTill"
    let tillId: String
    let amount: Int64
    enum CodingKeys: String, CodingKey { case tillId = "till_id", amount }
}

@Suite struct CommandBusTests {
    /// A bus with `AddToTill {till_id, amount}` routed to a till handler on `store`.
    private func bus(_ store: InMemoryEventStore) throws -> CommandBus {
        let bus = CommandBus()
        // An id that names no stream throws from the route: the bus answers it as a malformed command.
        try bus.register(AddToTill.self, handler: CommandHandler<Till, Till.Codec>(store: store, codec: Till.Codec())) {
            (.add($0.amount), try StreamName(category: "till", id: $0.tillId))
        }
        return bus
    }

    private func add(_ till: String, _ amount: Int, id: UUID? = nil) -> CommandEnvelope {
        CommandEnvelope(type: "AddToTill", body: Data(#"{"till_id": "\#(till)", "amount": \#(amount)}"#.utf8), commandId: id)
    }

    @Test func answersAcceptedWithTheEventsOrRejectedWithTheRule() async throws {
        let store = InMemoryEventStore()
        let bus = try bus(store)
        #expect(try await bus.send(add("jsdf", 260)) == .accepted(events: ["TillAdded"], streamVersion: 1, position: 1))
        #expect(try await bus.send(add("jsdf", 40)) == .accepted(events: ["TillAdded"], streamVersion: 2, position: 2))
        #expect(try await bus.send(add("jsdf", 0)) == .rejected("notPositive"))
        #expect(try await store.version(of: try StreamName("till-jsdf")) == 2)
    }

    @Test func unknownTypesAndMalformedBodiesAreErrorsThatStoreNothing() async throws {
        let store = InMemoryEventStore()
        let bus = try bus(store)
        await #expect(throws: CommandBusError.unknownType("AddToTil")) {
            _ = try await bus.send(CommandEnvelope(type: "AddToTil", body: Data("{}".utf8)))
        }
        for body in ["not json", #"{"till_id": "x"}"#, #"{"till_id": "x", "amount": "5"}"#, #"{"till_id": "", "amount": 5}"#] {
            await #expect(throws: CommandBusError.self, "\(body)") {
                _ = try await bus.send(CommandEnvelope(type: "AddToTill", body: Data(body.utf8)))
            }
        }
        #expect(try await store.headPosition() == .start)
    }

    @Test func anErrorThrownByTheRouteIsAMalformedCommandNamingIt() async throws {
        let store = InMemoryEventStore()
        let bus = try bus(store)
        let tooLong = String(repeating: "x", count: 300)
        for id in ["", tooLong] {
            do {
                _ = try await bus.send(add(id, 5))
                Issue.record("an id naming no stream was accepted")
            } catch let CommandBusError.malformed(type, reason) {
                #expect(type == "AddToTill")
                #expect(reason.contains("invalid stream name"), "\(reason)")
            }
            await #expect(throws: CommandBusError.self) { _ = try await bus.send(AddToTill(tillId: id, amount: 5)) }
        }
        #expect(try await store.headPosition() == .start)
    }

    @Test func oneHandlerPerCommand() throws {
        let bus = try bus(InMemoryEventStore())
        #expect(throws: CommandBusError.typeRegisteredTwice("AddToTill")) {
            try bus.register("AddToTill") { _ in .rejected("second") }
        }
        #expect(bus.types == ["AddToTill"])
    }

    @Test func aCommandIdSentTwiceThroughTheBusIsAppliedOnce() async throws {
        let store = InMemoryEventStore()
        let bus = try bus(store)
        let id = UUID()
        let first = try await bus.send(add("jsdf", 23, id: id))
        #expect(try await bus.send(add("jsdf", 23, id: id)) == first)
        #expect(try await store.version(of: try StreamName("till-jsdf")) == 1)
    }

    /// A command type decoded straight from the body: the body that is not the command is a malformed
    /// command naming the field, and stores nothing.
    struct AddToTill: NamedCommand {
        static let typeName = "AddToTill"
        let tillId: String
        let amount: Int64
        enum CodingKeys: String, CodingKey { case tillId = "till_id", amount }
    }

    @Test func aNamedCommandIsDecodedFromItsBodyAndAWrongBodyNamesTheField() async throws {
        let store = InMemoryEventStore()
        let bus = CommandBus()
        try bus.register(AddToTill.self, handler: CommandHandler<Till, Till.Codec>(store: store, codec: Till.Codec())) { command throws(CommandBusError) in
            do { return (.add(command.amount), try StreamName(category: "till", id: command.tillId)) } catch {
                throw .malformed(type: AddToTill.typeName, reason: "till_id is not a stream id")
            }
        }
        #expect(bus.types == ["AddToTill"])
        #expect(try await bus.send(add("jsdf", 260)) == .accepted(events: ["TillAdded"], streamVersion: 1, position: 1))
        let wrong = [
            #"{"till_id": "x"}"#: "amount is missing",
            #"{"till_id": "x", "amount": "5"}"#: "amount is not a number",
            #"{"till_id": null, "amount": 5}"#: "till_id must be a string, not null",
            #"[1, 2]"#: "the body must be a JSON object",
            #"{"till_id": "", "amount": 5}"#: "till_id is not a stream id",
        ]
        for (body, reason) in wrong {
            await #expect(throws: CommandBusError.malformed(type: "AddToTill", reason: reason), "\(body)") {
                _ = try await bus.send(CommandEnvelope(type: "AddToTill", body: Data(body.utf8)))
            }
        }
        #expect(try await store.headPosition() == 1)
    }
}

struct RefundTill: NamedCommand, Encodable {
    static let typeName = "RefundTill"
    let tillId: String
    let amount: Int64
    enum CodingKeys: String, CodingKey { case tillId = "till_id", amount }
}

@Suite struct ProcessCommandTests {
    @Test func aProcessCommandReadsBackAsTheTypeItWasMadeOfAndNoOther() {
        let command = ProcessCommand(RefundTill(tillId: "t-1", amount: 40))
        #expect(command.type == "RefundTill")
        #expect(command.fields == ["till_id": .string("t-1"), "amount": .number(40)])
        let back = command.as(RefundTill.self)
        #expect(back?.tillId == "t-1" && back?.amount == 40)
        // Another type, even with the same fields, is not it.
        #expect(command.as(AddToTill.self) == nil)
        // Fields that are not the type's: nil, not a trap.
        #expect(ProcessCommand("RefundTill", ["till_id": .number(1)]).as(RefundTill.self) == nil)
        #expect(ProcessAction.send(RefundTill(tillId: "t-1", amount: 40)) == .send(command))
    }
}
