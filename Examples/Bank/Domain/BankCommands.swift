import Chronicle
import Foundation

// The bank's commands, as clients (`POST /commands/:type`, `chronicle send`) and the transfer process
// send them: each decodes straight from its JSON body through its fields' rules, in the HTTP contract's
// words and in the order the contract checks them (the order the fields are declared), and the ones the
// transfer process sends encode into the outbox as they always have (StoredFormatTests pins those bodies).

/// `CreateAccount {account_id}`.
public struct CreateAccount: NamedCommand {
    public static let typeName = "CreateAccount"
    @Field<BankID> public var accountId: String
    enum CodingKeys: String, CodingKey { case accountId = "account_id" }
}

/// `DepositMoney {account_id, amount}`.
public struct DepositMoney: NamedCommand {
    public static let typeName = "DepositMoney"
    @Field<Amount> public var amount: Money
    @Field<BankID> public var accountId: String
    enum CodingKeys: String, CodingKey { case amount, accountId = "account_id" }
}

/// `WithdrawMoney {account_id, amount}`.
public struct WithdrawMoney: NamedCommand {
    public static let typeName = "WithdrawMoney"
    @Field<Amount> public var amount: Money
    @Field<BankID> public var accountId: String
    enum CodingKeys: String, CodingKey { case amount, accountId = "account_id" }
}

/// `TransferMoney {transfer_id, from_account_id, to_account_id, amount}`.
public struct TransferMoney: NamedCommand {
    public static let typeName = "TransferMoney"
    @Field<BankID> public var from: String
    @Field<BankID> public var to: String
    @Field<Amount> public var amount: Money
    @Field<BankID> public var transferId: String
    enum CodingKeys: String, CodingKey { case from = "from_account_id", to = "to_account_id", amount, transferId = "transfer_id" }
}

/// A transfer's debit of its source, sent by its process only: `{account_id, amount, transfer_id}`.
public struct DebitAccount: NamedCommand, Encodable {
    public static let typeName = "DebitAccount"
    @Field<Amount> public var amount: Money
    @Field<BankID> public var transferId: String
    @Field<BankID> public var accountId: String
    enum CodingKeys: String, CodingKey { case amount, transferId = "transfer_id", accountId = "account_id" }
    public init(accountId: String, amount: Money, transferId: String) { (self.accountId, self.amount, self.transferId) = (accountId, amount, transferId) }
}

/// A transfer's credit of its target, or its refund of its source: `{account_id, amount, transfer_id}`.
public struct CreditAccount: NamedCommand, Encodable {
    public static let typeName = "CreditAccount"
    @Field<Amount> public var amount: Money
    @Field<BankID> public var transferId: String
    @Field<BankID> public var accountId: String
    enum CodingKeys: String, CodingKey { case amount, transferId = "transfer_id", accountId = "account_id" }
    public init(accountId: String, amount: Money, transferId: String) { (self.accountId, self.amount, self.transferId) = (accountId, amount, transferId) }
}

/// A step of a transfer that its process takes: `{transfer_id}`, with `reason` for some.
public protocol TransferStep: NamedCommand, Encodable {
    var transferId: String { get }
    /// What the step does to the transfer.
    var command: Transfer.Command { get }
}

/// The target was credited: the transfer is completed.
public struct CompleteTransfer: TransferStep {
    public static let typeName = "CompleteTransfer"
    @Field<BankID> public var transferId: String
    enum CodingKeys: String, CodingKey { case transferId = "transfer_id" }
    public init(transferId: String) { self.transferId = transferId }
    public var command: Transfer.Command { .complete }
}

/// The source was paid back: the transfer is refunded.
public struct RefundTransfer: TransferStep {
    public static let typeName = "RefundTransfer"
    @Field<BankID> public var transferId: String
    enum CodingKeys: String, CodingKey { case transferId = "transfer_id" }
    public init(transferId: String) { self.transferId = transferId }
    public var command: Transfer.Command { .refund }
}

/// A step waited too long: the transfer times out.
public struct TimeOutTransfer: TransferStep {
    public static let typeName = "TimeOutTransfer"
    @Field<BankID> public var transferId: String
    enum CodingKeys: String, CodingKey { case transferId = "transfer_id" }
    public init(transferId: String) { self.transferId = transferId }
    public var command: Transfer.Command { .timeOut }
}

/// The source could not pay: the transfer is declined.
public struct DeclineTransfer: TransferStep {
    public static let typeName = "DeclineTransfer"
    @Field<Reason> public var reason: String
    @Field<BankID> public var transferId: String
    enum CodingKeys: String, CodingKey { case reason, transferId = "transfer_id" }
    public init(transferId: String, reason: String) { (self.transferId, self.reason) = (transferId, reason) }
    public var command: Transfer.Command { .decline(reason: reason) }
}

/// The target refused the money: the source must be paid back.
public struct RefuseTransferCredit: TransferStep {
    public static let typeName = "RefuseTransferCredit"
    @Field<Reason> public var reason: String
    @Field<BankID> public var transferId: String
    enum CodingKeys: String, CodingKey { case reason, transferId = "transfer_id" }
    public init(transferId: String, reason: String) { (self.transferId, self.reason) = (transferId, reason) }
    public var command: Transfer.Command { .refuseCredit(reason: reason) }
}

/// An account or transfer id: letters, digits, `_`, `-`, `.`, 1 to 64 of them.
public enum BankID: FieldRule {
    public static func read(_ field: String, _ value: JSONValue?) throws(CommandFieldError) -> String {
        guard case .string(let id)? = value else { throw CommandFieldError("\(field) is missing or not a string") }
        guard id.isShortIdentifier else { throw CommandFieldError("\(field) must be 1 to 64 letters, digits, _, - or .") }
        return id
    }
}

/// A short text: 1 to 500 characters.
public enum Reason: FieldRule {
    public static func read(_ field: String, _ value: JSONValue?) throws(CommandFieldError) -> String {
        guard case .string(let text)? = value, (1...500).contains(text.count), !text.utf8.contains(0) else {
            throw CommandFieldError("\(field) must be a string of 1 to 500 characters")
        }
        return text
    }
}

/// A positive amount with at most two decimal places, as a JSON string (`"23.50"`) or number (`23`).
public enum Amount: FieldRule {
    public static func read(_ field: String, _ value: JSONValue?) throws(CommandFieldError) -> Money {
        let text: String
        switch value {
        case .string(let s)?: text = s
        // The shortest digits that read back as the number: 23.5 is "23.5", 23 is "23.0".
        case .number(let n)? where n.isFinite: text = "\(n)"
        default: throw CommandFieldError("\(field) is missing: a positive decimal with at most two places, as a string or a number")
        }
        guard let money = Money(text), money > .zero else {
            throw CommandFieldError("\(field) must be a positive decimal with at most two places (\"23.50\")")
        }
        return money
    }
}
