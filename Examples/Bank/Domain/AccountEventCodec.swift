import Chronicle
import Foundation

/// Stores account events as JSON.
///
/// NOTE: stored format. Type names `AccountOpened`, `MoneyDeposited`, `MoneyWithdrawn`, `PaymentDeclined`,
/// `AccountClosed`, schema version 1; bodies in snake_case with amounts as decimal strings with two
/// places (`{"amount": "23.50", "balance": "283.50", "transfer_id": "t-1"}`, `transfer_id` only for a
/// transfer's money). `AccountEventCodecTests` pins each one.
public struct AccountEventCodec: EventCodec {
    /// Makes the codec.
    public init() {}

    /// Every stored type name this codec reads.
    public static let typeNames = ["AccountOpened", "MoneyDeposited", "MoneyWithdrawn", "PaymentDeclined", "AccountClosed"]

    private struct Movement: Codable {
        var amount: Money
        var balance: Money
        var transferId: String?

        enum CodingKeys: String, CodingKey {
            case amount, balance
            case transferId = "transfer_id"
        }
    }

    public func encode(_ event: Account.Event) throws -> EncodedEvent {
        func movement(_ type: String, _ amount: Money, _ balance: Money, _ transfer: String?) throws -> EncodedEvent {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            return EncodedEvent(
                type: type, schemaVersion: 1, data: try encoder.encode(Movement(amount: amount, balance: balance, transferId: transfer)))
        }
        switch event {
        case .opened: return EncodedEvent(type: "AccountOpened", schemaVersion: 1, data: Data("{}".utf8))
        case let .deposited(amount, balance, transfer): return try movement("MoneyDeposited", amount, balance, transfer)
        case let .withdrawn(amount, balance, transfer): return try movement("MoneyWithdrawn", amount, balance, transfer)
        case let .paymentDeclined(amount, balance, transfer): return try movement("PaymentDeclined", amount, balance, transfer)
        case .closed: return EncodedEvent(type: "AccountClosed", schemaVersion: 1, data: Data("{}".utf8))
        }
    }

    public func decode(_ encoded: EncodedEvent) throws -> Account.Event {
        guard Self.typeNames.contains(encoded.type) else { throw CodecError.unknownType(encoded.type) }
        guard encoded.schemaVersion == 1 else {
            throw CodecError.unsupportedSchemaVersion(type: encoded.type, version: encoded.schemaVersion)
        }
        func movement() throws -> Movement {
            do {
                return try JSONDecoder().decode(Movement.self, from: encoded.data)
            } catch {
                throw CodecError.malformed(type: encoded.type, reason: "\(error)")
            }
        }
        switch encoded.type {
        case "AccountOpened": return .opened
        case "AccountClosed": return .closed
        case "MoneyDeposited":
            let m = try movement()
            return .deposited(amount: m.amount, balance: m.balance, transfer: m.transferId)
        case "MoneyWithdrawn":
            let m = try movement()
            return .withdrawn(amount: m.amount, balance: m.balance, transfer: m.transferId)
        default:
            let m = try movement()
            return .paymentDeclined(amount: m.amount, balance: m.balance, transfer: m.transferId)
        }
    }
}
