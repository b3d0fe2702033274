import Chronicle

/// A transfer of money between two accounts: the record of what happened to it, decided one step at a
/// time. The money itself moves on the accounts, driven by ``TransferProcess``; this stream says where
/// the transfer stands (`in_progress`, `completed`, `declined`, `refunded`).
public enum Transfer: Decider {
    /// Where a transfer stands.
    public enum State: Sendable, Hashable, Codable {
        /// No transfer with this id.
        case none
        /// Asked for and not settled yet; `timedOut` once a step waited too long.
        case inProgress(from: String, to: String, amount: Money, timedOut: Bool)
        /// The target was credited.
        case completed
        /// The source could not pay (too little money, or no such account); nothing moved.
        case declined
        /// The target refused the money; the source was paid back.
        case refunded
    }

    /// What can be asked of a transfer.
    public enum Command: Sendable, Hashable {
        /// Asks for `amount` to move from `from` to `to`.
        case request(from: String, to: String, amount: Money)
        /// The target was credited.
        case complete
        /// The source could not pay.
        case decline(reason: String)
        /// The target refused the money: the source must be paid back.
        case refuseCredit(reason: String)
        /// The source was paid back.
        case refund
        /// A step waited too long.
        case timeOut
    }

    /// What can happen to a transfer.
    ///
    /// NOTE: stored format. Type names `TransferRequested` (`{"from_account_id", "to_account_id",
    /// "amount"}`, the amount a decimal string with two places), `TransferCompleted` (`{}`),
    /// `TransferDeclined` (`{"reason"}`), `TransferCreditRefused` (`{"reason"}`), `TransferTimedOut`
    /// (`{}`), `TransferRefunded` (`{}`), schema version 1, `/` escaped. `TransferEventCodecTests` pins
    /// each one.
    public enum Event: CodableEvent, Hashable {
        case requested(from: String, to: String, amount: Money)
        case completed
        case declined(reason: String)
        case creditRefused(reason: String)
        case timedOut
        case refunded

        public enum CodingKeys: String, CodingKey, CaseIterable {
            case requested = "TransferRequested", completed = "TransferCompleted", declined = "TransferDeclined"
            case creditRefused = "TransferCreditRefused", timedOut = "TransferTimedOut", refunded = "TransferRefunded"
        }
        enum RequestedCodingKeys: String, CodingKey { case from = "from_account_id", to = "to_account_id", amount }
        public static var storedSlashes: StoredJSON.Slashes { .escaped }
    }

    /// Why a command was refused.
    public enum Rejection: Error, Hashable, Sendable, CustomStringConvertible {
        case transferExists
        case unknownTransfer
        case sameAccount
        case amountNotPositive
        case settled

        public var description: String {
            switch self {
            case .transferExists: "a transfer with this id exists already"
            case .unknownTransfer: "no such transfer"
            case .sameAccount: "a transfer needs two different accounts"
            case .amountNotPositive: "an amount must be more than zero"
            case .settled: "the transfer is settled already"
            }
        }
    }

    /// The stream category of transfers (`transfer-<id>`).
    public static let category = "transfer"

    public static let initialState = State.none

    /// No snapshots, decided: a transfer's stream is a handful of events (requested, then at most one
    /// of each settling step — every other command on a settled transfer is refused), so folding it
    /// costs a few events whatever happens.
    public static var snapshotPolicy: SnapshotPolicy<State>? { nil }

    public static func decide(_ command: Command, _ state: State) throws(Rejection) -> [Event] {
        switch (command, state) {
        case let (.request(from, to, amount), .none):
            guard from != to else { throw .sameAccount }
            guard amount > .zero else { throw .amountNotPositive }
            return [.requested(from: from, to: to, amount: amount)]
        case (.request, _): throw .transferExists
        case (_, .none): throw .unknownTransfer
        // Each settlement is idempotent on itself, refused on another.
        case (.complete, .completed), (.decline, .declined), (.refund, .refunded): return []
        // A deadline that falls due after the transfer settled does nothing.
        case (.timeOut, .completed), (.timeOut, .declined), (.timeOut, .refunded): return []
        case (_, .completed), (_, .declined), (_, .refunded): throw .settled
        case (.complete, .inProgress): return [.completed]
        case (.decline(let reason), .inProgress): return [.declined(reason: reason)]
        case (.refuseCredit(let reason), .inProgress): return [.creditRefused(reason: reason)]
        case (.refund, .inProgress): return [.refunded]
        case (.timeOut, .inProgress(_, _, _, let timedOut)): return timedOut ? [] : [.timedOut]
        }
    }

    public static func evolve(_ state: State, _ event: Event) -> State {
        switch (event, state) {
        case let (.requested(from, to, amount), _): .inProgress(from: from, to: to, amount: amount, timedOut: false)
        case (.completed, _): .completed
        case (.declined, _): .declined
        case (.refunded, _): .refunded
        case let (.timedOut, .inProgress(from, to, amount, _)): .inProgress(from: from, to: to, amount: amount, timedOut: true)
        case (.timedOut, _), (.creditRefused, _): state
        }
    }
}

/// Stores transfer events as JSON (their format: ``Transfer/Event``).
public typealias TransferEventCodec = JSONEventCodec<Transfer.Event>
