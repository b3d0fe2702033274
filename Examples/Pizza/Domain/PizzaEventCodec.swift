import Chronicle
import Foundation

/// Stores pizza order events as JSON.
///
/// NOTE: stored format. `OrderRequested` holds the request as sent (`{"customer_id", "sauce", "cheese",
/// "main_topping", "extra_toppings"}`); `OrderRejected` `{"reasons": [...]}`; `OrderValidated`,
/// `OrderAssemblyStarted`, `OrderBakingStarted`, `OrderOutForDelivery`, `OrderDelivered` `{}`. Schema
/// version 1.
public struct PizzaEventCodec: EventCodec {
    public init() {}

    static let names: [(PizzaOrder.Event, String)] = [
        (.validated, "OrderValidated"), (.assemblyStarted, "OrderAssemblyStarted"), (.bakingStarted, "OrderBakingStarted"),
        (.outForDelivery, "OrderOutForDelivery"), (.delivered, "OrderDelivered"),
    ]

    private struct Reasons: Codable {
        var reasons: [String]
    }

    public func encode(_ event: PizzaOrder.Event) throws -> EncodedEvent {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        switch event {
        case .requested(let request): return EncodedEvent(type: "OrderRequested", schemaVersion: 1, data: try encoder.encode(request))
        case .rejected(let reasons): return EncodedEvent(type: "OrderRejected", schemaVersion: 1, data: try encoder.encode(Reasons(reasons: reasons)))
        default:
            guard let name = Self.names.first(where: { $0.0 == event })?.1 else { throw CodecError.unknownType("\(event)") }
            return EncodedEvent(type: name, schemaVersion: 1, data: Data("{}".utf8))
        }
    }

    public func decode(_ encoded: EncodedEvent) throws -> PizzaOrder.Event {
        guard encoded.schemaVersion == 1 else { throw CodecError.unsupportedSchemaVersion(type: encoded.type, version: encoded.schemaVersion) }
        func body<T: Decodable>(_ type: T.Type) throws -> T {
            do { return try JSONDecoder().decode(T.self, from: encoded.data) } catch {
                throw CodecError.malformed(type: encoded.type, reason: "\(error)")
            }
        }
        switch encoded.type {
        case "OrderRequested": return .requested(try body(OrderRequest.self))
        case "OrderRejected": return .rejected(reasons: try body(Reasons.self).reasons)
        default:
            guard let event = Self.names.first(where: { $0.1 == encoded.type })?.0 else { throw CodecError.unknownType(encoded.type) }
            return event
        }
    }
}
