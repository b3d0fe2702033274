import Chronicle
import Foundation
import Hummingbird

/// `POST /commands/:type`: a command for the runtime's ``CommandBus``, its fields in a JSON object, with
/// an optional `command_id` (a UUID: sending the same command id again applies the command once).
///
/// Accepted: 200, or 201 for a command that creates something, `{"position", "events", "stream_version"}`
/// (`position` null when nothing was appended); rejected by a rule: 422 `{"error"}`; an unknown type:
/// 404; a body that is not this command: 400.
struct CommandRoutes {
    let bus: CommandBus
    /// The names of the commands answered `201` (``HTTPModule/creatingCommands``).
    let creating: Set<String>

    func register(on routes: RouteTable) {
        routes.post("/commands/:type") { request, context in
            let type = context.parameters.get("type") ?? ""
            guard bus.exposes(type) else { return JSONBody.error(.notFound, CommandBusError.unknownType(String(type.prefix(80))).description) }
            let fields = try await JSONBody.object(of: request, context: context)
            return try await bus.respond(to: type, fields: fields, creates: creating.contains(type))
        }
    }
}

extension CommandBus {
    /// Sends the command `type` with `fields` (an optional `command_id` among them) and answers as
    /// `POST /commands/:type` does: 200 (201 when `creates`) with `{"position", "events",
    /// "stream_version"}`, 422 `{"error"}` when rejected, 404 for an unknown type, 400 for a body that is
    /// not the command. For a module's own routes that take commands.
    public func respond(to type: String, fields: [String: JSONValue], creates: Bool = false) async throws -> Response {
        let answer: CommandAnswer
        do {
            answer = try await send(try CommandEnvelope(type: type, fields: fields))
        } catch let error as CommandBusError {
            switch error {
            case .unknownType: return JSONBody.error(.notFound, error.description)
            case .malformed: throw APIError.badRequest(error.description)
            case .typeRegisteredTwice: throw error
            }
        }
        return answer.response(creates: creates)
    }
}

extension CommandBus {
    /// Sends the command `C` read from `fields` and answers as `POST /commands/:type` does (see
    /// ``respond(to:fields:creates:)``): for a module's own routes, which know the command's type.
    public func respond<C: NamedCommand>(to type: C.Type, fields: [String: JSONValue], creates: Bool = false) async throws -> Response {
        try await respond(to: C.typeName, fields: fields, creates: creates)
    }
}

extension CommandAnswer {
    /// The answer as HTTP says it: accepted, 200 (201 when `creates`) with ``CommandAnswerBody``; a
    /// rejection as its module maps it (`APIErrorConvertible`), 422 `{"error"}` when it does not.
    public func response(creates: Bool) -> Response {
        switch self {
        case .accepted: return JSONBody.response(creates ? .created : .ok, CommandAnswerBody(self))
        case .rejected(let rejection):
            if let mapped = rejection.error as? any APIErrorConvertible { return JSONBody.error(mapped.apiError.status, mapped.apiError.message) }
            return JSONBody.error(.unprocessableContent, rejection.description)
        }
    }
}

/// A command's answer as `POST /commands/:type` and `chronicle send` print it: accepted,
/// `{"position", "events", "stream_version"}` (`position` null when nothing was appended); rejected,
/// `{"error"}`.
public struct CommandAnswerBody: Encodable {
    /// The answer.
    public let answer: CommandAnswer

    /// The body of `answer`.
    public init(_ answer: CommandAnswer) { self.answer = answer }

    private enum CodingKeys: String, CodingKey {
        case position, events, streamVersion = "stream_version", error
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch answer {
        case let .accepted(events, streamVersion, position):
            try container.encode(position?.rawValue, forKey: .position)  // null, not absent, for a no-op
            try container.encode(events, forKey: .events)
            try container.encode(streamVersion, forKey: .streamVersion)
        case .rejected(let rejection):
            try container.encode(rejection.description, forKey: .error)
        }
    }
}
