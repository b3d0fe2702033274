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
    /// Who chose ``commandId``: a client, or a process manager (whose commands' events are derived so
    /// that no client's command id can pre-empt them).
    public var origin: CommandIdentity.Origin
    /// Metadata for the events it makes (correlation, causation).
    public var metadata: Metadata

    /// Makes an envelope.
    public init(type: String, body: Data, commandId: UUID? = nil, origin: CommandIdentity.Origin = .client, metadata: Metadata = Metadata()) {
        self.type = type
        self.body = body
        self.commandId = commandId
        self.origin = origin
        self.metadata = metadata
    }

    /// The command's identity: its id, who chose it, and the fingerprint of its type and body.
    public var identity: CommandIdentity? {
        commandId.map { CommandIdentity(id: $0, origin: origin, fingerprint: CommandIdentity.fingerprint(type: type, body: body)) }
    }
}

extension CommandEnvelope {
    /// The envelope of a command given as a JSON object's fields (`POST /commands/:type`,
    /// `chronicle send`): an optional `command_id` field, a UUID, is the command id.
    /// - Throws: ``CommandBusError/malformed(type:reason:)`` for a `command_id` that is not a UUID.
    public init(type: String, fields: [String: JSONValue], metadata: Metadata = Metadata()) throws(CommandBusError) {
        var commandId: UUID?
        if let given = fields["command_id"] {
            guard case .string(let text) = given, let id = UUID(text: text) else { throw .malformed(type: type, reason: "command_id must be a UUID") }
            commandId = id
        }
        // The body fingerprints the command (stored with its events): `/` escaped, as it always was.
        let body = (try? StoredJSON.encode(JSONValue.object(fields), slashes: .escaped)) ?? Data("{}".utf8)
        self.init(type: type, body: body, commandId: commandId, metadata: metadata)
    }
}

/// What a command sent through a ``CommandBus`` came to: always an answer, never fire-and-forget.
public enum CommandAnswer: Sendable, Equatable {
    /// Accepted: the stored type names of the events appended (none for a no-op), the stream's version
    /// and the position of the last event (nil when nothing was appended).
    case accepted(events: [String], streamVersion: StreamVersion, position: GlobalPosition?)
    /// Rejected: the rule it broke, as the decider said it.
    case rejected(CommandRejection)
}

/// A rule a command broke: the decider's own typed rejection, kept so that the edge can map it (HTTP
/// through `APIErrorConvertible`); two are equal when they say the same.
public struct CommandRejection: Error, Sendable, Equatable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The decider's rejection.
    public let error: any Error & Sendable

    /// The rejection `error`.
    public init(_ error: any Error & Sendable) { self.error = error }

    /// A rejection that is only words.
    public init(stringLiteral reason: String) { self.error = Reason(text: reason) }

    public var description: String { String(describing: error) }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.description == rhs.description }

    private struct Reason: Error, CustomStringConvertible {
        let text: String
        var description: String { text }
    }
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
    /// Handles one typed command.
    typealias TypedRoute = @Sendable (any NamedCommand, Metadata, CommandIdentity?) async throws -> CommandAnswer
    private let routes = Mutex<[String: (route: Route, exposed: Bool)]>([:])
    private let typedRoutes = Mutex<[String: TypedRoute]>([:])

    /// An empty bus.
    public init() {}

    /// Registers `route` for commands named `type`. A command that is not `exposed` is sent only from
    /// inside the process (by a process manager): `POST /commands/:type` and `chronicle send` do not know
    /// it.
    /// - Throws: ``CommandBusError/typeRegisteredTwice(_:)``: one handler per command.
    public func register(_ type: String, exposed: Bool = true, route: @escaping Route) throws(CommandBusError) {
        try routes.withLock { (routes) throws(CommandBusError) in
            guard routes[type] == nil else { throw .typeRegisteredTwice(type) }
            routes[type] = (route, exposed)
        }
    }

    /// Whether commands named `type` may be sent from outside (see ``register(_:exposed:route:)``).
    public func exposes(_ type: String) -> Bool { routes.withLock { $0[type]?.exposed ?? false } }

    /// Whether a handler is registered for commands named `type`.
    public func handles(_ type: String) -> Bool { routes.withLock { $0[type] != nil } }

    /// The command types registered, sorted.
    public var types: [String] { routes.withLock { $0.keys.sorted() } }

    /// The command types that may be sent from outside, sorted.
    public var exposedTypes: [String] { routes.withLock { $0.filter(\.value.exposed).keys.sorted() } }

    /// Sends `envelope` to its handler and answers what it came to.
    /// - Throws: ``CommandBusError/unknownType(_:)``, ``CommandBusError/malformed(type:reason:)``, or the
    ///   store's errors.
    public func send(_ envelope: CommandEnvelope) async throws -> CommandAnswer {
        guard let route = routes.withLock({ $0[envelope.type]?.route }) else { throw CommandBusError.unknownType(envelope.type) }
        return try await route(envelope)
    }
}

/// A command as clients send it: a value with a stable type name, decoded straight from the JSON body
/// of `POST /commands/:type` or `chronicle send` (a `command_id` field, if any, is the envelope's).
public protocol NamedCommand: Decodable, Sendable {
    /// The command's stable type name (`LendBook`): what clients send, what the bus routes by.
    static var typeName: String { get }
}

extension CommandBus {
    /// Registers the command type `command` of a decider: a body decodes into `command` (a body that
    /// does not is ``CommandBusError/malformed(type:reason:)`` naming the field), and `route` turns it into
    /// the decider's command and the stream it is for (an error it throws — an id that names no stream —
    /// is `malformed` too); a rejection stays the decider's typed error.
    public func register<C: NamedCommand, D: Decider, Codec: EventCodec>(
        _ command: C.Type, exposed: Bool = true, handler: CommandHandler<D, Codec>,
        _ route: @escaping @Sendable (C) throws -> (command: D.Command, stream: StreamName)
    ) throws(CommandBusError) where Codec.Event == D.Event, D.Rejection: Sendable, D: SendableMetatype {
        let typed: TypedRoute = { command, metadata, identity in
            // Only a C is ever routed here (by its type name).
            guard let command = command as? C else { throw CommandBusError.unknownType(C.typeName) }
            let (decided, stream): (D.Command, StreamName)
            do {
                (decided, stream) = try route(command)
            } catch let error as CommandBusError {
                throw error
            } catch {
                throw CommandBusError.malformed(type: C.typeName, reason: String(describing: error))
            }
            switch try await handler.handleNamingTypes(decided, on: stream, metadata: metadata, identity: identity) {
            case let (.accepted(_, streamVersion, position), types): return .accepted(events: types, streamVersion: streamVersion, position: position)
            case (.rejected(let rejection), _): return .rejected(CommandRejection(rejection))
            }
        }
        try register(C.typeName, exposed: exposed) { envelope in
            let decoded: C
            do {
                decoded = try JSONDecoder().decode(C.self, from: envelope.body)
            } catch {
                throw CommandBusError.malformed(type: C.typeName, reason: CommandBusError.reason(error))
            }
            return try await typed(decoded, envelope.metadata, envelope.identity)
        }
        typedRoutes.withLock { $0[C.typeName] = typed }
    }

    /// Sends `command` to its handler, as a value (no JSON on the way), and answers what it came to. A
    /// `commandId` applies it once however often it is sent (its events compared by stream, there being
    /// no body to fingerprint).
    /// - Throws: ``CommandBusError/unknownType(_:)`` when no handler is registered for `C`, or the store's
    ///   errors.
    public func send<C: NamedCommand>(_ command: C, metadata: Metadata = Metadata(), commandId: UUID? = nil) async throws -> CommandAnswer {
        guard let typed = typedRoutes.withLock({ $0[C.typeName] }) else { throw CommandBusError.unknownType(C.typeName) }
        return try await typed(command, metadata, commandId.map { CommandIdentity(id: $0) })
    }
}

extension CommandBusError {
    /// The fields of the JSON object `decoder` reads, for a command of type `type` that reads its body
    /// field by field in its own words: a body that is not an object is `malformed` ("the body must be a
    /// JSON object").
    public static func fields(of decoder: any Decoder, for type: String) throws -> [String: JSONValue] {
        guard case .object(let fields)? = try? JSONValue(from: decoder) else {
            throw CommandBusError.malformed(type: type, reason: "the body must be a JSON object")
        }
        return fields
    }

    /// A decoding error in a few words a client can act on (`amount is missing`, `title is not a String`).
    static func reason(_ error: any Error) -> String {
        // A command's own decoding may say what is wrong in its own words.
        if case .malformed(_, let reason)? = error as? CommandBusError { return reason }
        if let refused = error as? CommandFieldError { return refused.description }
        /// A Swift type in JSON's words.
        func json(_ type: Any.Type) -> String {
            let name = String(describing: type)
            if name == "String" { return "a string" }
            if name == "Bool" { return "true or false" }
            if ["Int", "Int8", "Int16", "Int32", "Int64", "UInt", "UInt8", "UInt16", "UInt32", "UInt64", "Double", "Float", "Decimal"].contains(name) {
                return "a number"
            }
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return "a \(name)"
        }
        func field(_ path: [any CodingKey], _ key: (any CodingKey)? = nil) -> String {
            let keys = (path + (key.map { [$0] } ?? [])).map(\.stringValue)
            return keys.isEmpty ? "the body" : keys.joined(separator: ".")
        }
        switch error as? DecodingError {
        case .keyNotFound(let key, let context)?: return "\(field(context.codingPath, key)) is missing"
        case .valueNotFound(let type, let context)?: return "\(field(context.codingPath)) must be \(json(type)), not null"
        case .typeMismatch(let type, let context)?:
            return context.codingPath.isEmpty ? "the body must be a JSON object" : "\(field(context.codingPath)) is not \(json(type))"
        case .dataCorrupted(let context)?:
            return context.codingPath.isEmpty ? "the body must be a JSON object" : "\(field(context.codingPath)): \(context.debugDescription)"
        default: return "\(error)"
        }
    }
}
