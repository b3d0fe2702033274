import Chronicle
import Foundation

/// Moves the money of a transfer, as a process manager: debit the source, credit the target; pay the
/// source back if the target refuses the money (a closed or unknown account); and when a step waits too
/// long, a deadline times the transfer out and the money is compensated.
///
/// Every decision is taken from the events, in the log's order, so that each debit is followed by
/// exactly one credit or one refund:
/// - `TransferRequested` → debit the source (`DebitAccount`), and set the step's deadline;
/// - the source's `MoneyWithdrawn` → credit the target (`CreditAccount`) — or, when the transfer timed out
///   before the debit landed, refund the source;
/// - the source's `PaymentDeclined`, or the debit rejected (no such account, closed) → `DeclineTransfer`;
/// - the target's `MoneyDeposited` → `CompleteTransfer`; the credit rejected → `RefuseTransferCredit`,
///   whose `TransferCreditRefused` refunds the source; the source's refund deposited → `RefundTransfer`;
/// - `TransferTimedOut` (the deadline's `TimeOutTransfer`) compensates what is not under way yet: once
///   the credit has been sent, its answer settles the transfer (completed, or refunded).
public struct TransferProcess: ProcessManager {
    /// What the process knows of one transfer.
    public struct State: Codable, Sendable, Equatable {
        public var from: String?
        public var to: String?
        public var amount: Money?
        /// The source paid (its `MoneyWithdrawn` seen).
        public var debited = false
        /// The credit to the target was sent.
        public var creditSent = false
        /// The refund to the source was sent.
        public var refundSent = false
        /// A step waited too long.
        public var timedOut = false
        /// Completed, declined or refunded.
        public var settled = false

        public init() {}
    }

    /// What the process listens to: its transfer's events, and the money its accounts moved for it.
    public enum Event: Sendable, Hashable {
        case transfer(id: String, Transfer.Event)
        /// An account event for transfer `transfer` on account `account`.
        case account(id: String, transfer: String, Account.Event)
    }

    public let name = "bank_transfers_process"
    public var sends: [any NamedCommand.Type] {
        [
            DebitAccount.self, CreditAccount.self, CompleteTransfer.self, DeclineTransfer.self, RefuseTransferCredit.self, RefundTransfer.self,
            TimeOutTransfer.self,
        ]
    }
    public let initialState = State()
    /// How long a step may wait before the transfer times out.
    public let timeout: Duration
    private let transfers = TransferEventCodec()
    private let accounts = AccountEventCodec()

    /// The process, timing a step out after `timeout`.
    public init(timeout: Duration = .seconds(30)) {
        self.timeout = timeout
    }

    public func decode(_ recorded: RecordedEvent) throws -> Event? {
        switch recorded.stream.category {
        case Transfer.category:
            return .transfer(id: recorded.stream.id, try transfers.decode(recorded))
        case Account.category:
            switch try accounts.decode(recorded) {
            case .deposited(_, _, let transfer?), .withdrawn(_, _, let transfer?), .paymentDeclined(_, _, let transfer?):
                return .account(id: recorded.stream.id, transfer: transfer, try accounts.decode(recorded))
            default: return nil
            }
        default: return nil
        }
    }

    public func correlate(_ event: Event) -> String? {
        switch event {
        case .transfer(let id, _): id
        case .account(_, let transfer, _): transfer
        }
    }

    public func evolve(_ state: State, _ event: Event) -> State {
        var state = state
        switch event {
        case let .transfer(_, .requested(from, to, amount)):
            (state.from, state.to, state.amount) = (from, to, amount)
        case .transfer(_, .completed), .transfer(_, .declined), .transfer(_, .refunded):
            state.settled = true
        case .transfer(_, .timedOut):
            state.timedOut = true
            if state.debited && !state.creditSent && !state.refundSent { state.refundSent = true }
        case .transfer(_, .creditRefused):
            state.refundSent = true
        case let .account(account, _, .withdrawn) where account == state.from && !state.debited:
            state.debited = true
            if state.timedOut { state.refundSent = true } else { state.creditSent = true }
        case .account:
            break
        }
        return state
    }

    public func react(to event: Event, in state: State) -> [ProcessAction] {
        guard let from = state.from, let to = state.to, let amount = state.amount else { return [] }
        let id: String
        switch event {
        case .transfer(let transfer, _), .account(_, let transfer, _): id = transfer
        }
        let step = ProcessAction.schedule(TimeOutTransfer(transferId: id), after: timeout, key: "step")
        switch event {
        case .transfer(_, .requested):
            return [.send(DebitAccount(accountId: from, amount: amount, transferId: id)), step]
        case .account(let account, _, .withdrawn) where account == from:
            // Sent in evolve's order: the credit, or (timed out before the debit landed) the refund.
            if state.refundSent { return [.cancel(key: "step"), .send(CreditAccount(accountId: from, amount: amount, transferId: id))] }
            return [.send(CreditAccount(accountId: to, amount: amount, transferId: id)), step]
        case .account(let account, _, .paymentDeclined) where account == from:
            return [.cancel(key: "step"), .send(DeclineTransfer(transferId: id, reason: "insufficient funds"))]
        case .account(let account, _, .deposited) where account == to && state.creditSent:
            return [.cancel(key: "step"), .send(CompleteTransfer(transferId: id))]
        case .account(let account, _, .deposited) where account == from && state.refundSent:
            return [.cancel(key: "step"), .send(RefundTransfer(transferId: id))]
        case .transfer(_, .creditRefused):
            return [.send(CreditAccount(accountId: from, amount: amount, transferId: id))]
        case .transfer(_, .timedOut) where state.refundSent && state.debited && !state.creditSent:
            return [.send(CreditAccount(accountId: from, amount: amount, transferId: id))]
        case .transfer(_, .completed), .transfer(_, .declined), .transfer(_, .refunded):
            return [.cancel(key: "step")]
        default:
            return []
        }
    }

    public func rejected(_ command: ProcessCommand, reason: String, in state: State) -> [ProcessAction] {
        if let debit = command.as(DebitAccount.self) {
            // No such source, or a closed one: nothing moved.
            return [.cancel(key: "step"), .send(DeclineTransfer(transferId: debit.transferId, reason: reason))]
        }
        if let credit = command.as(CreditAccount.self), credit.accountId == state.to, !state.settled {
            return [.send(RefuseTransferCredit(transferId: credit.transferId, reason: reason))]
        }
        // A refund the source refuses (closed since) stays in the outbox's log for an operator.
        return []
    }

    public func isFinished(_ state: State) -> Bool { state.settled }
}
