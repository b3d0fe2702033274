import Chronicle
import ChronicleHTTP
import ChronicleHTTPTesting
import ChronicleRuntime
import ChronicleTesting
import Foundation
import Testing

/// Counters that must be started before they count: a decider whose commands reach the bus.
enum Counter: Decider {
    enum State: Sendable { case absent, counting(Int64) }
    enum Command: Sendable { case start, count(Int64) }
    enum Event: Sendable { case started, counted(Int64) }
    enum Rejection: Error, CustomStringConvertible {
        case alreadyStarted, notStarted, zero
        var description: String {
            switch self {
            case .alreadyStarted: "the counter is started already"
            case .notStarted: "no such counter"
            case .zero: "a count must not be zero"
            }
        }
    }
    static let initialState = State.absent
    static func decide(_ command: Command, _ state: State) throws(Rejection) -> [Event] {
        switch (command, state) {
        case (.start, .absent): [.started]
        case (.start, .counting): throw .alreadyStarted
        case (.count, .absent): throw .notStarted
        case (.count(0), .counting): throw .zero
        case (.count(let by), .counting): [.counted(by)]
        }
    }
    static func evolve(_ state: State, _ event: Event) -> State {
        switch (event, state) {
        case (.started, _): .counting(0)
        case (.counted(let by), .counting(let total)): .counting(total + by)
        case (.counted, .absent): state
        }
    }
    struct Codec: EventCodec {
        func encode(_ event: Event) throws -> EncodedEvent {
            switch event {
            case .started: EncodedEvent(type: "CounterStarted", schemaVersion: 1, data: Data("{}".utf8))
            case .counted(let by): EncodedEvent(type: "CounterCounted", schemaVersion: 1, data: Data("{\"by\":\(by)}".utf8))
            }
        }
        func decode(_ encoded: EncodedEvent) throws -> Event {
            struct Body: Decodable { var by: Int64 }
            switch encoded.type {
            case "CounterStarted": return .started
            case "CounterCounted": return .counted(try JSONDecoder().decode(Body.self, from: encoded.data).by)
            default: throw CodecError.unknownType(encoded.type)
            }
        }
    }
}

/// The module: `StartCounter {counter_id}` and `CountCounter {counter_id, by}` on the bus.
struct Counters: ApplicationModule {
    let name = "counters"
    func registerCommands(on bus: CommandBus, runtime: ChronicleRuntime) throws {
        let handler = CommandHandler<Counter, Counter.Codec>(store: runtime.store, codec: Counter.Codec())
        @Sendable func stream(_ id: String) throws(CommandBusError) -> StreamName {
            guard let stream = try? StreamName(category: "counter", id: id) else { throw .malformed(type: "counter", reason: "counter_id is not an id") }
            return stream
        }
        try bus.register(StartCounter.self, handler: handler) { command throws(CommandBusError) in (.start, try stream(command.counterId)) }
        try bus.register(CountCounter.self, handler: handler) { command throws(CommandBusError) in (.count(command.by), try stream(command.counterId)) }
    }
}

/// Its web side has no routes of its own; starting a counter creates it, so HTTP answers it `201`.
extension Counters: HTTPModule {
    func addRoutes(to routes: RouteTable, runtime: ChronicleRuntime) {}
    var creatingCommands: [any NamedCommand.Type] { [StartCounter.self] }
}

struct StartCounter: NamedCommand {
    static let typeName = "StartCounter"
    let counterId: String
    enum CodingKeys: String, CodingKey { case counterId = "counter_id" }
}

struct CountCounter: NamedCommand {
    static let typeName = "CountCounter"
    let counterId: String
    let by: Int64
    enum CodingKeys: String, CodingKey { case counterId = "counter_id", by }
}

/// A count of zero is the caller's mistake (400), as this module maps it; its other rules are 422.
extension Counter.Rejection: APIErrorConvertible {
    var apiError: APIError { self == .zero ? APIError(.badRequest, description) : APIError(.unprocessableContent, description) }
}

@Suite struct CommandRoutesTests {
    @Test func commandsReachTheBusAndAnswerAcceptedOrRejected() async throws {
        let server = try TestServer(modules: [Counters()])
        try await server.run { client in
            let started = try await client.send(.post, "/commands/StartCounter", json: #"{"counter_id": "jsdf"}"#)
            #expect(started.status == 201, "\(started)")
            #expect(started["events"] == .array([.string("CounterStarted")]), "\(started)")
            let counted = try await client.send(.post, "/commands/CountCounter", json: #"{"counter_id": "jsdf", "by": 23}"#)
            #expect(counted.status == 200 && counted["position"] == .number(2), "\(counted)")
            let again = try await client.send(.post, "/commands/StartCounter", json: #"{"counter_id": "jsdf"}"#)
            #expect(again.status == 422 && again.error == "the counter is started already", "\(again)")
            let unknown = try await client.send(.post, "/commands/CountCounter", json: #"{"counter_id": "nope", "by": 1}"#)
            #expect(unknown.status == 422 && unknown.error == "no such counter", "\(unknown)")
            // A module's rejection is typed up to the edge: its own status, through APIErrorConvertible.
            let zero = try await client.send(.post, "/commands/CountCounter", json: #"{"counter_id": "jsdf", "by": 0}"#)
            #expect(zero.status == 400 && zero.error == "a count must not be zero", "\(zero)")
            #expect(try await client.send(.post, "/commands/Explode", json: "{}").status == 404)
            for bad in [
                #"{"counter_id": "jsdf"}"#, #"{"counter_id": "jsdf", "by": "x"}"#, #"{"by": 1}"#, "[1]", "{",
                #"{"counter_id": "jsdf", "by": 1, "command_id": "not-a-uuid"}"#,
            ] {
                let answer = try await client.send(.post, "/commands/CountCounter", json: bad)
                #expect(answer.status == 400 && answer.error != nil, "\(bad): \(answer)")
            }
            let stream = try await client.get("/streams/counter-jsdf")
            #expect(stream["events"]?.arrayCount == 2, "\(stream)")
        }
    }

    @Test func aCommandIdSentTwiceOverHTTPIsAppliedOnce() async throws {
        let server = try TestServer(modules: [Counters()])
        try await server.run { client in
            _ = try await client.send(.post, "/commands/StartCounter", json: #"{"counter_id": "c1"}"#)
            let body = #"{"counter_id": "c1", "by": 5, "command_id": "0b341422-c516-4ee4-8f3e-ef1992dfff32"}"#
            let first = try await client.send(.post, "/commands/CountCounter", json: body)
            let second = try await client.send(.post, "/commands/CountCounter", json: body)
            #expect(first.status == 200 && second.status == 200, "\(first) \(second)")
            #expect(first["position"] == second["position"])
            #expect(try await client.get("/streams/counter-c1")["events"]?.arrayCount == 2)
        }
    }
}
