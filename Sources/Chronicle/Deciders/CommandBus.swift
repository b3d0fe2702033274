import Foundation
import Synchronization

/// A command as it comes from outside: its type name and its JSON body, and optionally a client-chosen
/// command id that makes sending it again apply it once (see ``CommandHandler``).
public struct CommandEnvelope: Sendable {
    /// The command's type name (`DepositMoney`).
    public var type: String
    /// Its fields, as a JSON object.
    public var body: Data
    /// The client's id for this command, if any.
    public var commandId: UUID?
    /// Metadata for the events it makes (correlation, causation).
    public var metadata: Metadata

    /// Makes an envelope.
    public init(type: String, body: Data, commandId: UUID? = nil, metadata: Metadata = Metadata()) {
        self.type = type
        self.body = body
        self.commandId = commandId
        self.metadata = metadata
    }
}

/// What a command sent through a ``CommandBus`` came to: always an answer, never fire-and-forget.
public enum CommandAnswer: Sendable, Equatable {
    /// Accepted: the stored type names of the events appended (none for a no-op), the stream's version
    /// and the position of the last event (nil when nothing was appended).
    case accepted(events: [String], streamVersion: StreamVersion, position: GlobalPosition?)
    /// Rejected: the rule it broke, in words.
    case rejected(String)
}

/// Why a command could not be handled at all (as opposed to being rejected by a rule).
public enum CommandBusError: Error, Equatable, CustomStringConvertible {
    /// No handler is registered for this type.
    case unknownType(String)
    /// The body is not this command (not JSON, a missing field, a wrong type): the reason.
    case malformed(type: String, reason: String)
    /// A second handler for a type that has one.
    case typeRegisteredTwice(String)

    public var description: String {
        switch self {
        case .unknownType(let type): "no command is named \"\(type)\""
        case let .malformed(type, reason): "not a valid \(type): \(reason)"
        case .typeRegisteredTwice(let type): "two handlers for the command \"\(type)\""
        }
    }
}

/// Routes each command, by its type name, to the one handler registered for it, and answers what it
/// came to. As aggregates listen for commands, the bus is how they hear them.
public final class CommandBus: Sendable {
    /// Handles one command's envelope.
    public typealias Route = @Sendable (CommandEnvelope) async throws -> CommandAnswer
    private let routes = Mutex<[String: (route: Route, creates: Bool)]>([:])

    /// An empty bus.
    public init() {}

    /// Registers `route` for commands named `type`; `creates` says that accepting one creates something
    /// (an account, an order), which HTTP answers with 201.
    /// - Throws: ``CommandBusError/typeRegisteredTwice(_:)``: one handler per command.
    public func register(_ type: String, creates: Bool = false, route: @escaping Route) throws(CommandBusError) {
        try routes.withLock { (routes) throws(CommandBusError) in
            guard routes[type] == nil else { throw .typeRegisteredTwice(type) }
            routes[type] = (route, creates)
        }
    }

    /// Whether accepting a command named `type` creates something (see ``register(_:creates:route:)``).
    public func creates(_ type: String) -> Bool { routes.withLock { $0[type]?.creates ?? false } }

    /// Whether a handler is registered for commands named `type`.
    public func handles(_ type: String) -> Bool { routes.withLock { $0[type] != nil } }

    /// Registers the commands named `type` of a decider: `parse` reads the body into the command and the
    /// stream it is for (throwing ``CommandBusError/malformed(type:reason:)`` for a body that is not
    /// one), `handler` decides and appends.
    public func register<D: Decider, Codec: EventCodec>(
        _ type: String, creates: Bool = false, handler: CommandHandler<D, Codec>,
        parse: @escaping @Sendable (Data) throws(CommandBusError) -> (command: D.Command, stream: StreamName)
    ) throws(CommandBusError) where Codec.Event == D.Event, D.Rejection: Sendable {
        try register(type, creates: creates) { envelope in
            let (command, stream) = try parse(envelope.body)
            switch try await handler.handle(command, on: stream, metadata: envelope.metadata, commandId: envelope.commandId) {
            case let .accepted(events, streamVersion, position):
                return .accepted(events: try events.map { try handler.codec.encode($0).type }, streamVersion: streamVersion, position: position)
            case .rejected(let rejection):
                return .rejected(String(describing: rejection))
            }
        }
    }

    /// The command types registered, sorted.
    public var types: [String] { routes.withLock { $0.keys.sorted() } }

    /// Sends `envelope` to its handler and answers what it came to.
    /// - Throws: ``CommandBusError/unknownType(_:)``, ``CommandBusError/malformed(type:reason:)``, or the
    ///   store's errors.
    public func send(_ envelope: CommandEnvelope) async throws -> CommandAnswer {
        guard let route = routes.withLock({ $0[envelope.type]?.route }) else { throw CommandBusError.unknownType(envelope.type) }
        return try await route(envelope)
    }
}
