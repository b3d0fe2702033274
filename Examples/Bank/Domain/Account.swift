import Chronicle

/// A bank account, after the CQRS engine's REPL example: open it, deposit, withdraw. A withdrawal that
/// would overdraw is not an error but a fact — `PaymentDeclined` — and the command is still accepted.
/// Money moved for a transfer carries the transfer's id, so that the transfer's process manager can
/// follow it.
public enum Account: Decider {
    /// Where an account stands.
    public enum State: Sendable, Hashable, Codable {
        /// No account with this id.
        case unknown
        /// Open, with its balance.
        case open(balance: Money)
        /// Closed: it takes no more money.
        case closed
    }

    /// What can be asked of an account.
    public enum Command: Sendable, Hashable {
        /// Opens the account.
        case open
        /// Pays `amount` in (for `transfer`, when it is a transfer's credit or refund).
        case deposit(Money, transfer: String? = nil)
        /// Takes `amount` out, or records a declined payment when the balance does not cover it.
        case withdraw(Money, transfer: String? = nil)
        /// Closes an account whose balance is zero.
        case close
    }

    /// What can happen to an account.
    ///
    /// NOTE: stored format. Type names `AccountOpened`, `MoneyDeposited`, `MoneyWithdrawn`,
    /// `PaymentDeclined`, `AccountClosed`, schema version 1; bodies in snake_case with amounts as decimal
    /// strings with two places (`{"amount": "23.50", "balance": "283.50", "transfer_id": "t-1"}`,
    /// `transfer_id` only for a transfer's money), `/` escaped. `AccountEventCodecTests` pins each one.
    public enum Event: CodableEvent, Hashable {
        case opened
        case deposited(amount: Money, balance: Money, transfer: String?)
        case withdrawn(amount: Money, balance: Money, transfer: String?)
        /// A withdrawal the balance did not cover: nothing was taken.
        case paymentDeclined(amount: Money, balance: Money, transfer: String?)
        case closed

        public enum CodingKeys: String, CodingKey, CaseIterable {
            case opened = "AccountOpened", deposited = "MoneyDeposited", withdrawn = "MoneyWithdrawn"
            case paymentDeclined = "PaymentDeclined", closed = "AccountClosed"
        }
        enum DepositedCodingKeys: String, CodingKey { case amount, balance, transfer = "transfer_id" }
        enum WithdrawnCodingKeys: String, CodingKey { case amount, balance, transfer = "transfer_id" }
        enum PaymentDeclinedCodingKeys: String, CodingKey { case amount, balance, transfer = "transfer_id" }
        public static var storedSlashes: StoredJSON.Slashes { .escaped }
    }

    /// Why a command was refused.
    public enum Rejection: Error, Hashable, Sendable, CustomStringConvertible {
        case accountExists
        case unknownAccount
        case accountClosed
        case amountNotPositive
        case balanceNotZero(Money)
        /// The deposit would take the balance past ``Money/maximum``, the most an account's stored form holds.
        case balanceLimit(Money)

        public var description: String {
            switch self {
            case .accountExists: "the account exists already"
            case .unknownAccount: "no such account"
            case .accountClosed: "the account is closed"
            case .amountNotPositive: "an amount must be more than zero"
            case .balanceNotZero(let balance): "only an account with a zero balance can be closed (the balance is \(balance))"
            case .balanceLimit(let balance):
                "the balance would exceed \(Money.maximum), the most an account holds (the balance is \(balance))"
            }
        }
    }

    /// The stream category of accounts (`account-<id>`).
    public static let category = "account"

    public static let initialState = State.unknown

    /// Accounts are snapshotted every 50 events, as the engine did.
    public static var snapshotPolicy: SnapshotPolicy<State>? { SnapshotPolicy(every: 50, schemaVersion: 1) }

    public static func decide(_ command: Command, _ state: State) throws(Rejection) -> [Event] {
        switch (command, state) {
        case (.open, .unknown): return [.opened]
        case (.open, _): throw .accountExists
        case (_, .unknown): throw .unknownAccount
        case (_, .closed): throw .accountClosed
        case (.deposit(let amount, let transfer), .open(let balance)):
            guard amount > .zero else { throw .amountNotPositive }
            guard amount <= Money.maximum - balance else { throw .balanceLimit(balance) }
            return [.deposited(amount: amount, balance: balance + amount, transfer: transfer)]
        case (.withdraw(let amount, let transfer), .open(let balance)):
            guard amount > .zero else { throw .amountNotPositive }
            guard amount <= balance else { return [.paymentDeclined(amount: amount, balance: balance, transfer: transfer)] }
            return [.withdrawn(amount: amount, balance: balance - amount, transfer: transfer)]
        case (.close, .open(let balance)):
            guard balance == .zero else { throw .balanceNotZero(balance) }
            return [.closed]
        }
    }

    public static func evolve(_ state: State, _ event: Event) -> State {
        switch event {
        case .opened: .open(balance: .zero)
        case .deposited(_, let balance, _), .withdrawn(_, let balance, _): .open(balance: balance)
        case .paymentDeclined: state
        case .closed: .closed
        }
    }
}

extension Money: CodableAsText {}

/// Reverse events for accounts. A reversed deposit is a withdrawal of the same amount. Decided: were its
/// money gone (a balance below the amount), the whole revert is refused rather than recording a declined
/// payment that would not bring the balance back — since later withdrawals are reverted first, this is
/// a safety net. Money moved for a transfer is undone by the transfer, never by one account alone.
extension Account: Compensating {
    public static func compensation(for event: Event, before: State, now: State) -> Compensation<Event> {
        switch event {
        case .opened:
            return .impossible(reason: "an account cannot be un-opened: revert to version 1 at the earliest")
        case .closed:
            return .impossible(reason: "a closed account cannot be reopened")
        case .paymentDeclined:
            return .nothing(reason: "a declined payment moved no money")
        case .deposited(_, _, let transfer?), .withdrawn(_, _, let transfer?):
            return .impossible(reason: "money moved for transfer \(transfer): only the transfer can undo it")
        case .deposited(let amount, _, nil):
            guard case .open(let balance) = now else { return .impossible(reason: "the account is closed") }
            guard balance >= amount else { return .impossible(reason: "the deposit has been spent: the balance is \(balance), the deposit \(amount)") }
            return .events([.withdrawn(amount: amount, balance: balance - amount, transfer: nil)])
        case .withdrawn(let amount, _, nil):
            guard case .open(let balance) = now else { return .impossible(reason: "the account is closed") }
            guard amount <= Money.maximum - balance else { return .impossible(reason: "the balance would exceed \(Money.maximum)") }
            return .events([.deposited(amount: amount, balance: balance + amount, transfer: nil)])
        }
    }
}

/// Stores account events as JSON (their format: ``Account/Event``).
public typealias AccountEventCodec = JSONEventCodec<Account.Event>
