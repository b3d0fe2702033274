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
        try bus.register(CreateAccount.self, creates: true, handler: accounts) { command throws(CommandBusError) in
            (.open, try Self.account(command.accountId, for: CreateAccount.self))
        }
        try bus.register(DepositMoney.self, handler: accounts) { command throws(CommandBusError) in
            (.deposit(command.amount), try Self.account(command.accountId, for: DepositMoney.self))
        }
        try bus.register(WithdrawMoney.self, handler: accounts) { command throws(CommandBusError) in
            (.withdraw(command.amount), try Self.account(command.accountId, for: WithdrawMoney.self))
        }
        // A transfer's money, sent by its process only.
        try bus.register(DebitAccount.self, exposed: false, handler: accounts) { command throws(CommandBusError) in
            (.withdraw(command.amount, transfer: command.transferId), try Self.account(command.accountId, for: DebitAccount.self))
        }
        try bus.register(CreditAccount.self, exposed: false, handler: accounts) { command throws(CommandBusError) in
            (.deposit(command.amount, transfer: command.transferId), try Self.account(command.accountId, for: CreditAccount.self))
        }

        runtime.reverts.register(category: Account.category, Reverter<Account, AccountEventCodec>(store: runtime.store, codec: AccountEventCodec()))

        let transfers = CommandHandler<Transfer, TransferEventCodec>(store: runtime.store, codec: TransferEventCodec())
        try bus.register(TransferMoney.self, handler: transfers) { command throws(CommandBusError) in
            (.request(from: command.from, to: command.to, amount: command.amount), try Self.transferStream(command.transferId))
        }
        // The transfer's steps, sent by its process only.
        func step<Step: TransferStep>(_ type: Step.Type) throws {
            try bus.register(Step.self, exposed: false, handler: transfers) { command throws(CommandBusError) in
                (command.command, try Self.transferStream(command.transferId))
            }
        }
        try step(CompleteTransfer.self)
        try step(DeclineTransfer.self)
        try step(RefuseTransferCredit.self)
        try step(RefundTransfer.self)
        try step(TimeOutTransfer.self)
    }

    /// The stream of the account `id` (a well-formed id always names one).
    static func account<C: NamedCommand>(_ id: String, for command: C.Type) throws(CommandBusError) -> StreamName {
        do { return try stream(of: id) } catch { throw .malformed(type: C.typeName, reason: "account_id must be 1 to 64 letters, digits, _, - or .") }
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
            throw .malformed(type: TransferMoney.typeName, reason: "transfer_id cannot name a stream")
        }
    }
}
