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

    struct Accepted: Encodable {
        var position: Int64?
        var events: [String]
        var streamVersion: Int64

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(position, forKey: .position)  // null, not absent, for a no-op
            try container.encode(events, forKey: .events)
            try container.encode(streamVersion, forKey: .streamVersion)
        }

        enum CodingKeys: String, CodingKey {
            case position, events
            case streamVersion = "stream_version"
        }
    }

    func register(on routes: RouteTable) {
        routes.post("/commands/:type") { request, context in
            let type = context.parameters.get("type") ?? ""
            guard bus.handles(type) else { return JSONBody.error(.notFound, CommandBusError.unknownType(String(type.prefix(80))).description) }
            let fields = try await JSONBody.object(of: request, context: context)
            var commandId: UUID?
            if let given = fields["command_id"] {
                guard case .string(let text) = given, let id = UUID(text: text) else {
                    throw APIError.badRequest("command_id must be a UUID")
                }
                commandId = id
            }
            let answer: CommandAnswer
            do {
                answer = try await bus.send(CommandEnvelope(type: type, body: try JSONEncoder().encode(JSONValue.object(fields)), commandId: commandId))
            } catch let error as CommandBusError {
                switch error {
                case .unknownType: return JSONBody.error(.notFound, error.description)
                case .malformed: throw APIError.badRequest(error.description)
                case .typeRegisteredTwice: throw error
                }
            }
            switch answer {
            case let .accepted(events, streamVersion, position):
                return JSONBody.response(
                    bus.creates(type) ? .created : .ok, Accepted(position: position?.rawValue, events: events, streamVersion: streamVersion))
            case .rejected(let reason):
                return JSONBody.error(.unprocessableContent, reason)
            }
        }
    }
}
