import BankDomain
import Chronicle
import Foundation

/// Each account's statement: one entry per event of the account, oldest first, with the balance after it.
public struct AccountStatements: SQLReadModel {
    public let name = "bank_statements"
    private let codec = AccountEventCodec()

    public init() {}

    public var createStatements: [SQLStatement] {
        [
            SQLStatement(
                """
                CREATE TABLE IF NOT EXISTS bank_statements (
                    account_id TEXT NOT NULL, position BIGINT NOT NULL, entry TEXT NOT NULL, amount DECIMAL, balance DECIMAL,
                    transfer_id TEXT, recorded_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (account_id, position))
                """)
        ]
    }

    public var dropStatements: [SQLStatement] { [SQLStatement("DROP TABLE IF EXISTS bank_statements")] }

    public func statements(for event: RecordedEvent) throws -> [SQLStatement] {
        guard event.stream.category == Account.category else { return [] }
        let (entry, amount, balance, transfer): (String, Money?, Money?, String?)
        switch try codec.decode(event) {
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
                    .text(event.stream.id), .integer(event.position.rawValue), .text(entry), amount.map { .decimal($0.decimal) } ?? .null,
                    balance.map { .decimal($0.decimal) } ?? .null, .text(transfer), .timestamp(SQLTimestamp(event.recordedAt)),
                ])
        ]
    }

    /// The entries of `account`, oldest first.
    public static func query(_ account: String) -> SQLStatement {
        SQLStatement(
            "SELECT position, entry, amount, balance, transfer_id, recorded_at FROM bank_statements WHERE account_id = ? ORDER BY position",
            [.text(account)])
    }
}

/// Where each transfer stands: `in_progress`, `completed`, `declined` or `refunded`.
public struct TransferStatuses: SQLReadModel {
    public let name = "bank_transfers"
    private let codec = TransferEventCodec()

    public init() {}

    public var createStatements: [SQLStatement] {
        [
            SQLStatement(
                """
                CREATE TABLE IF NOT EXISTS bank_transfers (
                    transfer_id TEXT PRIMARY KEY, from_account_id TEXT NOT NULL, to_account_id TEXT NOT NULL, amount DECIMAL NOT NULL,
                    status TEXT NOT NULL, reason TEXT, timed_out BOOLEAN NOT NULL, requested_position BIGINT NOT NULL)
                """)
        ]
    }

    public var dropStatements: [SQLStatement] { [SQLStatement("DROP TABLE IF EXISTS bank_transfers")] }

    public func statements(for event: RecordedEvent) throws -> [SQLStatement] {
        guard event.stream.category == Transfer.category else { return [] }
        let id = SQLValue.text(event.stream.id)
        func status(_ status: String, reason: String? = nil) -> [SQLStatement] {
            [SQLStatement("UPDATE bank_transfers SET status = ?, reason = COALESCE(?, reason) WHERE transfer_id = ?", [.text(status), .text(reason), id])]
        }
        switch try codec.decode(event) {
        case let .requested(from, to, amount):
            return [
                SQLStatement(
                    """
                    INSERT INTO bank_transfers (transfer_id, from_account_id, to_account_id, amount, status, reason, timed_out, requested_position)
                    VALUES (?, ?, ?, ?, 'in_progress', NULL, ?, ?)
                    """, [id, .text(from), .text(to), .decimal(amount.decimal), .bool(false), .integer(event.position.rawValue)])
            ]
        case .completed: return status("completed")
        case .declined(let reason): return status("declined", reason: reason)
        case .creditRefused(let reason): return status("in_progress", reason: reason)
        case .refunded: return status("refunded")
        case .timedOut: return [SQLStatement("UPDATE bank_transfers SET timed_out = ? WHERE transfer_id = ?", [.bool(true), id])]
        }
    }

    /// One transfer.
    public static func query(_ transfer: String) -> SQLStatement {
        SQLStatement(
            "SELECT transfer_id, from_account_id, to_account_id, amount, status, reason, timed_out FROM bank_transfers WHERE transfer_id = ?",
            [.text(transfer)])
    }

    /// The latest transfers, newest first.
    public static func latest(limit: Int) -> SQLStatement {
        SQLStatement(
            """
            SELECT transfer_id, from_account_id, to_account_id, amount, status, reason, timed_out FROM bank_transfers
            ORDER BY requested_position DESC LIMIT \(limit)
            """)
    }
}
