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

    func register(on routes: RouteTable) {
        routes.post("/commands/:type") { request, context in
            let type = context.parameters.get("type") ?? ""
            guard bus.exposes(type) else { return JSONBody.error(.notFound, CommandBusError.unknownType(String(type.prefix(80))).description) }
            let fields = try await JSONBody.object(of: request, context: context)
            return try await bus.respond(to: type, fields: fields)
        }
    }
}

extension CommandBus {
    /// Sends the command `type` with `fields` (an optional `command_id` among them) and answers as `POST /commands/:type` does: 200 (201 for a command that creates)
    /// with `{"position", "events", "stream_version"}`, 422 `{"error"}` when rejected, 404 for an unknown
    /// type, 400 for a body that is not the command. For a module's own routes that take commands.
    public func respond(to type: String, fields: [String: JSONValue]) async throws -> Response {
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
        switch answer {
        case .accepted: return JSONBody.response(creates(type) ? .created : .ok, answer)
        case .rejected(let reason): return JSONBody.error(.unprocessableContent, reason)
        }
    }
}
