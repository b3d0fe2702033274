import Chronicle
import Foundation

/// Stores todo events as JSON under EventSourcery's names.
///
/// NOTE: stored format. Type names (`TodoAdded`, `TodoAmended`, `TodoCompleted`, `TodoAbandoned`,
/// `TodoMovedUp`, `TodoReopened`, `TodoCleared`, `StakeholderNotifiedOfTodoCompletion`), schema version 1,
/// and snake_case body keys. A body holds only the fields the command provided; in `TodoAmended` a
/// `null` clears a field. The golden corpus in TodoDomainTests pins every one of them.
public struct TodoEventCodec: EventCodec {
    /// Upcasters for older schema versions (none yet: every todo event is at version 1).
    public let upcasters: UpcasterChain

    /// Makes the codec.
    public init(upcasters: UpcasterChain = UpcasterChain([])) {
        self.upcasters = upcasters
    }

    /// Every stored type name this codec reads.
    public static let typeNames = [
        "TodoAdded", "TodoAmended", "TodoCompleted", "TodoAbandoned", "TodoMovedUp", "TodoReopened", "TodoCleared",
        "StakeholderNotifiedOfTodoCompletion",
    ]

    public func encode(_ event: Todo.Event) throws -> EncodedEvent {
        var body: [String: JSONValue] = [:]
        let type: String
        switch event {
        case .added(let d):
            type = "TodoAdded"
            body["title"] = d.title.map(JSONValue.string)
            body["description"] = d.description.map(JSONValue.string)
            body["due_date"] = d.dueDate.map(JSONValue.string)
            body["stakeholder_email"] = d.stakeholderEmail.map(JSONValue.string)
        case .amended(let a):
            type = "TodoAmended"
            body["title"] = a.title.json
            body["description"] = a.description.json
            body["due_date"] = a.dueDate.json
            body["stakeholder_email"] = a.stakeholderEmail.json
        case .completed(let on):
            type = "TodoCompleted"
            body["completed_on"] = .string(on)
        case .abandoned(let on):
            type = "TodoAbandoned"
            body["abandoned_on"] = .string(on)
        case .movedUp: type = "TodoMovedUp"
        case .reopened: type = "TodoReopened"
        case .cleared: type = "TodoCleared"
        case .stakeholderNotifiedOfCompletion(let on):
            type = "StakeholderNotifiedOfTodoCompletion"
            body["notified_on"] = .string(on)
        }
        return EncodedEvent(type: type, schemaVersion: 1, data: try Self.encoder.encode(JSONValue.object(body)))
    }

    public func decode(_ stored: EncodedEvent) throws -> Todo.Event {
        let encoded = try upcasters.upcast(stored)
        guard Self.typeNames.contains(encoded.type) else { throw CodecError.unknownType(encoded.type) }
        guard encoded.schemaVersion == 1 else {
            throw CodecError.unsupportedSchemaVersion(type: encoded.type, version: encoded.schemaVersion)
        }
        let body: [String: JSONValue]
        do {
            guard case .object(let object) = try JSONDecoder().decode(JSONValue.self, from: encoded.data) else {
                throw CodecError.malformed(type: encoded.type, reason: "the body is not a JSON object")
            }
            body = object
        } catch let error as CodecError {
            throw error
        } catch {
            throw CodecError.malformed(type: encoded.type, reason: "the body is not JSON")
        }
        func string(_ key: String) throws -> String? {
            switch body[key] {
            case nil, .null?: return nil
            case .string(let s)?: return s
            default: throw CodecError.malformed(type: encoded.type, reason: "\(key) is not a string")
            }
        }
        func required(_ key: String) throws -> String {
            guard let value = try string(key) else { throw CodecError.malformed(type: encoded.type, reason: "\(key) is missing") }
            return value
        }
        func patch(_ key: String) throws -> Patch<String> {
            switch body[key] {
            case nil: return .unchanged
            case .null?: return .cleared
            case .string(let s)?: return .set(s)
            default: throw CodecError.malformed(type: encoded.type, reason: "\(key) is not a string")
            }
        }
        switch encoded.type {
        case "TodoAdded":
            return .added(
                Todo.Details(
                    title: try string("title"), description: try string("description"), dueDate: try string("due_date"),
                    stakeholderEmail: try string("stakeholder_email")))
        case "TodoAmended":
            return .amended(
                Todo.Amendment(
                    title: try patch("title"), description: try patch("description"), dueDate: try patch("due_date"),
                    stakeholderEmail: try patch("stakeholder_email")))
        case "TodoCompleted": return .completed(completedOn: try required("completed_on"))
        case "TodoAbandoned": return .abandoned(abandonedOn: try required("abandoned_on"))
        case "TodoMovedUp": return .movedUp
        case "TodoReopened": return .reopened
        case "TodoCleared": return .cleared
        default: return .stakeholderNotifiedOfCompletion(notifiedOn: try required("notified_on"))
        }
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}

extension Patch<String> {
    fileprivate var json: JSONValue? {
        switch self {
        case .unchanged: nil
        case .cleared: .null
        case .set(let value): .string(value)
        }
    }
}
