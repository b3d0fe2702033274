import Chronicle
import Foundation

/// Stores transfer events as JSON.
///
/// NOTE: stored format. Type names `TransferRequested` (`{"from_account_id", "to_account_id", "amount"}`,
/// the amount a decimal string with two places), `TransferCompleted` (`{}`), `TransferDeclined`
/// (`{"reason"}`), `TransferCreditRefused` (`{"reason"}`), `TransferTimedOut` (`{}`), `TransferRefunded`
/// (`{}`), schema version 1. `TransferEventCodecTests` pins each one.
public struct TransferEventCodec: EventCodec {
    /// Makes the codec.
    public init() {}

    /// Every stored type name this codec reads.
    public static let typeNames = [
        "TransferRequested", "TransferCompleted", "TransferDeclined", "TransferCreditRefused", "TransferTimedOut", "TransferRefunded",
    ]

    private struct Requested: Codable {
        var from: String
        var to: String
        var amount: Money
        enum CodingKeys: String, CodingKey {
            case from = "from_account_id", to = "to_account_id", amount
        }
    }

    private struct Reason: Codable {
        var reason: String
    }

    public func encode(_ event: Transfer.Event) throws -> EncodedEvent {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let empty = Data("{}".utf8)
        switch event {
        case let .requested(from, to, amount):
            return EncodedEvent(type: "TransferRequested", schemaVersion: 1, data: try encoder.encode(Requested(from: from, to: to, amount: amount)))
        case .completed: return EncodedEvent(type: "TransferCompleted", schemaVersion: 1, data: empty)
        case .declined(let reason): return EncodedEvent(type: "TransferDeclined", schemaVersion: 1, data: try encoder.encode(Reason(reason: reason)))
        case .creditRefused(let reason):
            return EncodedEvent(type: "TransferCreditRefused", schemaVersion: 1, data: try encoder.encode(Reason(reason: reason)))
        case .timedOut: return EncodedEvent(type: "TransferTimedOut", schemaVersion: 1, data: empty)
        case .refunded: return EncodedEvent(type: "TransferRefunded", schemaVersion: 1, data: empty)
        }
    }

    public func decode(_ encoded: EncodedEvent) throws -> Transfer.Event {
        guard Self.typeNames.contains(encoded.type) else { throw CodecError.unknownType(encoded.type) }
        guard encoded.schemaVersion == 1 else {
            throw CodecError.unsupportedSchemaVersion(type: encoded.type, version: encoded.schemaVersion)
        }
        func body<T: Decodable>(_ type: T.Type) throws -> T {
            do {
                return try JSONDecoder().decode(T.self, from: encoded.data)
            } catch {
                throw CodecError.malformed(type: encoded.type, reason: "\(error)")
            }
        }
        switch encoded.type {
        case "TransferRequested":
            let r = try body(Requested.self)
            return .requested(from: r.from, to: r.to, amount: r.amount)
        case "TransferCompleted": return .completed
        case "TransferDeclined": return .declined(reason: try body(Reason.self).reason)
        case "TransferCreditRefused": return .creditRefused(reason: try body(Reason.self).reason)
        case "TransferTimedOut": return .timedOut
        default: return .refunded
        }
    }
}
