import Chronicle
import Foundation

/// A tiny decider for the core's tests: a counter with a ceiling.
enum Counter: Decider {
    struct State: Sendable, Equatable {
        var value = 0
    }

    enum Command: Sendable {
        case increment(by: Int)
        case reset
    }

    enum Event: Sendable, Equatable {
        case incremented(by: Int)
        case wasReset
    }

    enum Rejection: Error, Equatable {
        case wouldPassTheCeiling
    }

    static let ceiling = 10
    static let initialState = State()

    static func decide(_ command: Command, _ state: State) throws(Rejection) -> [Event] {
        switch command {
        case .increment(let by):
            guard state.value + by <= ceiling else { throw .wouldPassTheCeiling }
            return [.incremented(by: by)]
        case .reset:
            return state.value == 0 ? [] : [.wasReset]
        }
    }

    static func evolve(_ state: State, _ event: Event) -> State {
        switch event {
        case .incremented(let by): State(value: state.value + by)
        case .wasReset: State()
        }
    }

    struct Codec: EventCodec {
        func encode(_ event: Event) throws -> EncodedEvent {
            switch event {
            case .incremented(let by): EncodedEvent(type: "CounterIncremented", schemaVersion: 2, data: Data("{\"by\":\(by)}".utf8))
            case .wasReset: EncodedEvent(type: "CounterReset", schemaVersion: 1, data: Data("{}".utf8))
            }
        }

        /// Version 1 of CounterIncremented stored `{"step": n}`; version 2 renamed it to `by`.
        static let upcasters = UpcasterChain([
            .jsonObject(type: "CounterIncremented", fromVersion: 1) { object in
                object["by"] = object.removeValue(forKey: "step")
            }
        ])

        func decode(_ stored: EncodedEvent) throws -> Event {
            let encoded = try Self.upcasters.upcast(stored)
            switch (encoded.type, encoded.schemaVersion) {
            case ("CounterIncremented", 2):
                struct Body: Decodable { var by: Int }
                do { return .incremented(by: try JSONDecoder().decode(Body.self, from: encoded.data).by) } catch {
                    throw CodecError.malformed(type: encoded.type, reason: "\(error)")
                }
            case ("CounterReset", 1):
                return .wasReset
            case ("CounterIncremented", _), ("CounterReset", _):
                throw CodecError.unsupportedSchemaVersion(type: encoded.type, version: encoded.schemaVersion)
            default:
                throw CodecError.unknownType(encoded.type)
            }
        }
    }
}
