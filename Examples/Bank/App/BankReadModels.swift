import BankDomain
import Chronicle
import Foundation

/// Each account's statement: one entry per event of the account, oldest first, with the balance after it.
public struct AccountStatements: CategoryReadModel {
    public let name = "bank_statements"
    public let category = Account.category

    public init() {}

    public let tables = [
        SQLTable(
            "bank_statements",
            """
            account_id TEXT NOT NULL, position BIGINT NOT NULL, entry TEXT NOT NULL, amount DECIMAL, balance DECIMAL, transfer_id TEXT,
            recorded_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (account_id, position)
            """)
    ]

    public func statements(for event: Account.Event, _ recorded: RecordedEvent) throws -> [SQLStatement] {
        let (entry, amount, balance, transfer): (String, Money?, Money?, String?)
        switch event {
        case .opened: (entry, amount, balance, transfer) = ("opened", nil, .zero, nil)
        case let .deposited(a, b, t): (entry, amount, balance, transfer) = ("deposit", a, b, t)
        case let .withdrawn(a, b, t): (entry, amount, balance, transfer) = ("withdrawal", a, b, t)
        case let .paymentDeclined(a, b, t): (entry, amount, balance, transfer) = ("payment_declined", a, b, t)
        case .closed: (entry, amount, balance, transfer) = ("closed", nil, nil, nil)
        }
        return [
            SQLStatement(
                """
                INSERT INTO bank_statements (account_id, position, entry, amount, balance, transfer_id, recorded_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    .text(recorded.stream.id), .integer(recorded.position.rawValue), .text(entry), amount.map { .decimal($0.decimal) } ?? .null,
                    balance.map { .decimal($0.decimal) } ?? .null, .text(transfer), .timestamp(SQLTimestamp(recorded.recordedAt)),
                ])
        ]
    }

    /// One entry of a statement.
    public struct Entry: Codable, Sendable {
        public let position: Int64
        public let entry: String
        public let amount: MoneyColumn?
        public let balance: MoneyColumn?
        public let transferId: String?
        public let at: SQLTimestamp
        enum CodingKeys: String, CodingKey { case position, entry, amount, balance, transferId = "transfer_id", at }
    }

    /// The entries of `account`, oldest first.
    public static func entries(of account: String) -> ReadModelQuery<Self, Entry> {
        ReadModelQuery(
            "SELECT position, entry, amount, balance, transfer_id, recorded_at AS at FROM bank_statements WHERE account_id = ? ORDER BY position",
            [.text(account)])
    }
}

/// Where each transfer stands: `in_progress`, `completed`, `declined` or `refunded`.
public struct TransferStatuses: CategoryReadModel {
    public let name = "bank_transfers"
    public let category = Transfer.category

    public init() {}

    public let tables = [
        SQLTable(
            "bank_transfers",
            """
            transfer_id TEXT PRIMARY KEY, from_account_id TEXT NOT NULL, to_account_id TEXT NOT NULL, amount DECIMAL NOT NULL,
            status TEXT NOT NULL, reason TEXT, timed_out BOOLEAN NOT NULL, requested_position BIGINT NOT NULL
            """)
    ]

    public func statements(for event: Transfer.Event, _ recorded: RecordedEvent) throws -> [SQLStatement] {
        let id = SQLValue.text(recorded.stream.id)
        func status(_ status: String, reason: String? = nil) -> [SQLStatement] {
            [SQLStatement("UPDATE bank_transfers SET status = ?, reason = COALESCE(?, reason) WHERE transfer_id = ?", [.text(status), .text(reason), id])]
        }
        switch event {
        case let .requested(from, to, amount):
            return [
                SQLStatement(
                    """
                    INSERT INTO bank_transfers (transfer_id, from_account_id, to_account_id, amount, status, reason, timed_out, requested_position)
                    VALUES (?, ?, ?, ?, 'in_progress', NULL, ?, ?)
                    """, [id, .text(from), .text(to), .decimal(amount.decimal), .bool(false), .integer(recorded.position.rawValue)])
            ]
        case .completed: return status("completed")
        case .declined(let reason): return status("declined", reason: reason)
        case .creditRefused(let reason): return status("in_progress", reason: reason)
        case .refunded: return status("refunded")
        case .timedOut: return [SQLStatement("UPDATE bank_transfers SET timed_out = ? WHERE transfer_id = ?", [.bool(true), id])]
        }
    }

    /// A transfer as the bank shows it: `{"transfer_id", "status", "from_account_id", "to_account_id",
    /// "amount", "reason", "timed_out"}`.
    public struct Status: Codable, Sendable {
        public let transferId: String
        public let status: String
        public let fromAccountId: String
        public let toAccountId: String
        public let amount: MoneyColumn
        public let reason: String?
        public let timedOut: Bool
        enum CodingKeys: String, CodingKey {
            case transferId = "transfer_id", status, fromAccountId = "from_account_id", toAccountId = "to_account_id", amount, reason
            case timedOut = "timed_out"
        }
    }

    private static let columns = "SELECT transfer_id, from_account_id, to_account_id, amount, status, reason, timed_out FROM bank_transfers"

    /// One transfer.
    public static func status(of transfer: String) -> ReadModelQuery<Self, Status> {
        ReadModelQuery("\(columns) WHERE transfer_id = ?", [.text(transfer)])
    }

    /// The latest transfers, newest first.
    public static func latest(limit: Int) -> ReadModelQuery<Self, Status> {
        ReadModelQuery("\(columns) ORDER BY requested_position DESC LIMIT \(limit)")
    }
}
