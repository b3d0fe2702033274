import Chronicle
import Foundation

// The bank's commands, as clients (`POST /commands/:type`, `chronicle send`) and the transfer process
// send them: each decodes straight from its JSON body, read to the letter of the HTTP contract (the
// fields in the order the contract checks them, and its messages), and the ones the transfer process
// sends encode into the outbox as they always have (StoredFormatTests pins those bodies).

/// `CreateAccount {account_id}`.
public struct CreateAccount: NamedCommand {
    public static let typeName = "CreateAccount"
    public let accountId: String

    public init(from decoder: any Decoder) throws {
        accountId = try BankFields(decoder, Self.typeName).id("account_id")
    }
}

/// A command that moves money in or out of an account: `{account_id, amount}`.
public protocol AccountMoneyCommand: NamedCommand {
    var accountId: String { get }
    var amount: Money { get }
    init(accountId: String, amount: Money)
}

extension AccountMoneyCommand {
    public init(from decoder: any Decoder) throws {
        let fields = try BankFields(decoder, Self.typeName)
        let amount = try fields.amount()
        self.init(accountId: try fields.id("account_id"), amount: amount)
    }
}

/// `DepositMoney {account_id, amount}`.
public struct DepositMoney: AccountMoneyCommand {
    public static let typeName = "DepositMoney"
    public let accountId: String
    public let amount: Money
    public init(accountId: String, amount: Money) { (self.accountId, self.amount) = (accountId, amount) }
}

/// `WithdrawMoney {account_id, amount}`.
public struct WithdrawMoney: AccountMoneyCommand {
    public static let typeName = "WithdrawMoney"
    public let accountId: String
    public let amount: Money
    public init(accountId: String, amount: Money) { (self.accountId, self.amount) = (accountId, amount) }
}

/// `TransferMoney {transfer_id, from_account_id, to_account_id, amount}`.
public struct TransferMoney: NamedCommand {
    public static let typeName = "TransferMoney"
    public let transferId: String
    public let from: String
    public let to: String
    public let amount: Money

    public init(from decoder: any Decoder) throws {
        let fields = try BankFields(decoder, Self.typeName)
        (from, to) = (try fields.id("from_account_id"), try fields.id("to_account_id"))
        amount = try fields.amount()
        transferId = try fields.id("transfer_id")
    }
}

/// A transfer's money leaving or reaching an account (`DebitAccount`, `CreditAccount`), sent by its
/// process only: `{account_id, amount, transfer_id}`.
public protocol TransferMoneyMovement: NamedCommand, Encodable {
    var accountId: String { get }
    var amount: Money { get }
    var transferId: String { get }
    init(accountId: String, amount: Money, transferId: String)
}

extension TransferMoneyMovement {
    public init(from decoder: any Decoder) throws {
        let fields = try BankFields(decoder, Self.typeName)
        let amount = try fields.amount()
        let transfer = try fields.id("transfer_id")
        self.init(accountId: try fields.id("account_id"), amount: amount, transferId: transfer)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: MovementKeys.self)
        try container.encode(accountId, forKey: .accountId)
        try container.encode(amount.description, forKey: .amount)
        try container.encode(transferId, forKey: .transferId)
    }
}

private enum MovementKeys: String, CodingKey {
    case accountId = "account_id", amount, transferId = "transfer_id"
}

/// A transfer's debit of its source.
public struct DebitAccount: TransferMoneyMovement {
    public static let typeName = "DebitAccount"
    public let accountId: String
    public let amount: Money
    public let transferId: String
    public init(accountId: String, amount: Money, transferId: String) {
        (self.accountId, self.amount, self.transferId) = (accountId, amount, transferId)
    }
}

/// A transfer's credit of its target, or its refund of its source.
public struct CreditAccount: TransferMoneyMovement {
    public static let typeName = "CreditAccount"
    public let accountId: String
    public let amount: Money
    public let transferId: String
    public init(accountId: String, amount: Money, transferId: String) {
        (self.accountId, self.amount, self.transferId) = (accountId, amount, transferId)
    }
}

/// A step of a transfer that its process takes: `{transfer_id}`, with `reason` for some.
public protocol TransferStep: NamedCommand, Encodable {
    var transferId: String { get }
    /// What the step does to the transfer.
    var command: Transfer.Command { get }
}

/// A step without a reason.
public protocol PlainTransferStep: TransferStep {
    init(transferId: String)
}

extension PlainTransferStep {
    public init(from decoder: any Decoder) throws {
        self.init(transferId: try BankFields(decoder, Self.typeName).id("transfer_id"))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: StepKeys.self)
        try container.encode(transferId, forKey: .transferId)
    }
}

/// A step with a reason.
public protocol ReasonedTransferStep: TransferStep {
    var reason: String { get }
    init(transferId: String, reason: String)
}

extension ReasonedTransferStep {
    public init(from decoder: any Decoder) throws {
        let fields = try BankFields(decoder, Self.typeName)
        let reason = try fields.text("reason")
        self.init(transferId: try fields.id("transfer_id"), reason: reason)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: StepKeys.self)
        try container.encode(reason, forKey: .reason)
        try container.encode(transferId, forKey: .transferId)
    }
}

private enum StepKeys: String, CodingKey {
    case transferId = "transfer_id", reason
}

/// The target was credited: the transfer is completed.
public struct CompleteTransfer: PlainTransferStep {
    public static let typeName = "CompleteTransfer"
    public let transferId: String
    public init(transferId: String) { self.transferId = transferId }
    public var command: Transfer.Command { .complete }
}

/// The source was paid back: the transfer is refunded.
public struct RefundTransfer: PlainTransferStep {
    public static let typeName = "RefundTransfer"
    public let transferId: String
    public init(transferId: String) { self.transferId = transferId }
    public var command: Transfer.Command { .refund }
}

/// A step waited too long: the transfer times out.
public struct TimeOutTransfer: PlainTransferStep {
    public static let typeName = "TimeOutTransfer"
    public let transferId: String
    public init(transferId: String) { self.transferId = transferId }
    public var command: Transfer.Command { .timeOut }
}

/// The source could not pay: the transfer is declined.
public struct DeclineTransfer: ReasonedTransferStep {
    public static let typeName = "DeclineTransfer"
    public let transferId: String
    public let reason: String
    public init(transferId: String, reason: String) { (self.transferId, self.reason) = (transferId, reason) }
    public var command: Transfer.Command { .decline(reason: reason) }
}

/// The target refused the money: the source must be paid back.
public struct RefuseTransferCredit: ReasonedTransferStep {
    public static let typeName = "RefuseTransferCredit"
    public let transferId: String
    public let reason: String
    public init(transferId: String, reason: String) { (self.transferId, self.reason) = (transferId, reason) }
    public var command: Transfer.Command { .refuseCredit(reason: reason) }
}

/// A bank command's fields, read to the letter of the HTTP contract: a wrong one is a
/// ``CommandBusError/malformed(type:reason:)`` with the contract's words.
struct BankFields {
    let command: String
    let fields: [String: JSONValue]

    init(_ decoder: any Decoder, _ command: String) throws {
        (self.command, fields) = (command, try CommandBusError.fields(of: decoder, for: command))
    }

    private func refuse(_ reason: String) -> CommandBusError { .malformed(type: command, reason: reason) }

    /// An account or transfer id: letters, digits, `_`, `-`, `.`, 1 to 64 of them.
    func id(_ key: String) throws(CommandBusError) -> String {
        guard case .string(let id)? = fields[key] else { throw refuse("\(key) is missing or not a string") }
        guard id.isShortIdentifier else { throw refuse("\(key) must be 1 to 64 letters, digits, _, - or .") }
        return id
    }

    /// A short text.
    func text(_ key: String) throws(CommandBusError) -> String {
        guard case .string(let text)? = fields[key], (1...500).contains(text.count), !text.utf8.contains(0) else {
            throw refuse("\(key) must be a string of 1 to 500 characters")
        }
        return text
    }

    /// A positive amount with at most two decimal places, as a JSON string (`"23.50"`) or number (`23`).
    func amount() throws(CommandBusError) -> Money {
        let text: String
        switch fields["amount"] {
        case .string(let s)?: text = s
        // The shortest digits that read back as the number: 23.5 is "23.5", 23 is "23.0".
        case .number(let n)? where n.isFinite: text = "\(n)"
        default: throw refuse("amount is missing: a positive decimal with at most two places, as a string or a number")
        }
        guard let money = Money(text), money > .zero else {
            throw refuse("amount must be a positive decimal with at most two places (\"23.50\")")
        }
        return money
    }
}
