import BankDomain
import Chronicle
import ChronicleRuntime
import Foundation

/// The bank as a module of a ``ChronicleRuntime``: its account and transfer commands on the command bus,
/// the transfer process manager, and the read models (balances, statements, transfers). Its web side is
/// `BankWeb` in BankHTTP.
///
/// From outside (`POST /commands/:type`, `chronicle send`): `CreateAccount`, `DepositMoney`,
/// `WithdrawMoney`, `TransferMoney`. Sent only by the transfer process: `DebitAccount`, `CreditAccount`
/// (money moved for a transfer, carrying its id) and `CompleteTransfer`, `DeclineTransfer`,
/// `RefuseTransferCredit`, `RefundTransfer`, `TimeOutTransfer` — a client cannot move money in a
/// transfer's name or settle one by hand.
public struct BankModule: ApplicationModule {
    public let name = "bank"
    /// How often an account's state is snapshotted, in events (default: the domain's 50).
    public let snapshotEvery: Int?
    /// How long a transfer's step may wait before the transfer times out.
    public let transferTimeout: Duration

    /// The module; `snapshotEvery` overrides how often accounts are snapshotted.
    public init(snapshotEvery: Int? = nil, transferTimeout: Duration = .seconds(30)) {
        self.snapshotEvery = snapshotEvery
        self.transferTimeout = transferTimeout
    }

    public var readModels: [any SQLReadModel] { [AccountBalances(), AccountStatements(), TransferStatuses()] }

    public var processManagers: [any ProcessManager] { [TransferProcess(timeout: transferTimeout)] }

    public func registerCommands(on bus: CommandBus, runtime: ChronicleRuntime) throws {
        let policy = snapshotEvery.map { SnapshotPolicy<Account.State>(every: $0, schemaVersion: 1) } ?? Account.snapshotPolicy
        let accounts = CommandHandler<Account, AccountEventCodec>(
            store: runtime.store, codec: AccountEventCodec(), snapshots: runtime.snapshots, snapshotPolicy: policy)
        try bus.register("CreateAccount", creates: true, handler: accounts) { body throws(CommandBusError) in
            let fields = try BankFields(body, command: "CreateAccount")
            return (.open, try fields.account("account_id"))
        }
        try bus.register("DepositMoney", handler: accounts) { body throws(CommandBusError) in
            let fields = try BankFields(body, command: "DepositMoney")
            return (.deposit(try fields.amount()), try fields.account("account_id"))
        }
        try bus.register("WithdrawMoney", handler: accounts) { body throws(CommandBusError) in
            let fields = try BankFields(body, command: "WithdrawMoney")
            return (.withdraw(try fields.amount()), try fields.account("account_id"))
        }
        // A transfer's money, sent by its process only.
        try bus.register("DebitAccount", exposed: false, handler: accounts) { body throws(CommandBusError) in
            let fields = try BankFields(body, command: "DebitAccount")
            return (.withdraw(try fields.amount(), transfer: try fields.id("transfer_id")), try fields.account("account_id"))
        }
        try bus.register("CreditAccount", exposed: false, handler: accounts) { body throws(CommandBusError) in
            let fields = try BankFields(body, command: "CreditAccount")
            return (.deposit(try fields.amount(), transfer: try fields.id("transfer_id")), try fields.account("account_id"))
        }

        runtime.reverts.register(category: Account.category, Reverter<Account, AccountEventCodec>(store: runtime.store, codec: AccountEventCodec()))

        let transfers = CommandHandler<Transfer, TransferEventCodec>(store: runtime.store, codec: TransferEventCodec())
        try bus.register("TransferMoney", handler: transfers) { body throws(CommandBusError) in
            let fields = try BankFields(body, command: "TransferMoney")
            let (from, to) = (try fields.id("from_account_id"), try fields.id("to_account_id"))
            return (.request(from: from, to: to, amount: try fields.amount()), try Self.transferStream(try fields.id("transfer_id")))
        }
        let steps: [(String, @Sendable (BankFields) throws(CommandBusError) -> Transfer.Command)] = [
            ("CompleteTransfer", { _ in .complete }),
            ("DeclineTransfer", { fields throws(CommandBusError) in .decline(reason: try fields.text("reason")) }),
            ("RefuseTransferCredit", { fields throws(CommandBusError) in .refuseCredit(reason: try fields.text("reason")) }),
            ("RefundTransfer", { _ in .refund }),
            ("TimeOutTransfer", { _ in .timeOut }),
        ]
        for (type, command) in steps {
            try bus.register(type, exposed: false, handler: transfers) { body throws(CommandBusError) in
                let fields = try BankFields(body, command: type)
                return (try command(fields), try Self.transferStream(try fields.id("transfer_id")))
            }
        }
    }

    /// The stream of the account `id`.
    public static func stream(of id: String) throws -> StreamName {
        try StreamName(category: Account.category, id: id)
    }

    /// The stream of the transfer `id`.
    static func transferStream(_ id: String) throws(CommandBusError) -> StreamName {
        do {
            return try StreamName(category: Transfer.category, id: id)
        } catch {
            throw .malformed(type: "TransferMoney", reason: "transfer_id cannot name a stream")
        }
    }
}

/// A bank command's fields, read to the letter of the HTTP contract.
struct BankFields {
    let command: String
    let fields: [String: JSONValue]

    init(_ body: Data, command: String) throws(CommandBusError) {
        self.command = command
        guard case .object(let fields)? = try? JSONDecoder().decode(JSONValue.self, from: body) else {
            throw .malformed(type: command, reason: "the body must be a JSON object")
        }
        self.fields = fields
    }

    private func refuse(_ reason: String) -> CommandBusError { .malformed(type: command, reason: reason) }

    /// An account or transfer id: letters, digits, `_`, `-`, `.`, 1 to 64 of them.
    func id(_ key: String) throws(CommandBusError) -> String {
        guard case .string(let id)? = fields[key] else { throw refuse("\(key) is missing or not a string") }
        guard id.isShortIdentifier else { throw refuse("\(key) must be 1 to 64 letters, digits, _, - or .") }
        return id
    }

    /// The stream of the account named by `key`.
    func account(_ key: String) throws(CommandBusError) -> StreamName {
        let id = try id(key)
        guard let stream = try? BankModule.stream(of: id) else { throw refuse("\(key) must be 1 to 64 letters, digits, _, - or .") }
        return stream
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
