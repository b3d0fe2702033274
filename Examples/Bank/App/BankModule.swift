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
        try bus.register(CreateAccount.self, handler: accounts) { (.open, try Self.stream(of: $0.accountId)) }
        try bus.register(DepositMoney.self, handler: accounts) { (.deposit($0.amount), try Self.stream(of: $0.accountId)) }
        try bus.register(WithdrawMoney.self, handler: accounts) { (.withdraw($0.amount), try Self.stream(of: $0.accountId)) }
        // A transfer's money, sent by its process only.
        try bus.register(DebitAccount.self, exposed: false, handler: accounts) {
            (.withdraw($0.amount, transfer: $0.transferId), try Self.stream(of: $0.accountId))
        }
        try bus.register(CreditAccount.self, exposed: false, handler: accounts) {
            (.deposit($0.amount, transfer: $0.transferId), try Self.stream(of: $0.accountId))
        }

        runtime.reverts.register(category: Account.category, Reverter<Account, AccountEventCodec>(store: runtime.store, codec: AccountEventCodec()))

        let transfers = CommandHandler<Transfer, TransferEventCodec>(store: runtime.store, codec: TransferEventCodec())
        @Sendable func transfer(_ id: String) throws -> StreamName { try StreamName(category: Transfer.category, id: id) }
        try bus.register(TransferMoney.self, handler: transfers) { (.request(from: $0.from, to: $0.to, amount: $0.amount), try transfer($0.transferId)) }
        // The transfer's steps, sent by its process only.
        func step<Step: TransferStep>(_ type: Step.Type) throws {
            try bus.register(Step.self, exposed: false, handler: transfers) { ($0.command, try transfer($0.transferId)) }
        }
        for type in [CompleteTransfer.self, DeclineTransfer.self, RefuseTransferCredit.self, RefundTransfer.self, TimeOutTransfer.self] as [any TransferStep.Type] {
            try step(type)
        }
    }

    /// The stream of the account `id`.
    public static func stream(of id: String) throws -> StreamName {
        try StreamName(category: Account.category, id: id)
    }
}
