import BankDomain
import Chronicle
import Foundation

/// Each account's balance, exactly (a decimal), from its events.
public struct AccountBalances: SQLReadModel {
    public let name = "bank_balances"
    private let codec = AccountEventCodec()

    public init() {}

    // NOTE: read-model tables are rebuilt from the log, so their shape may change freely.
    public var createStatements: [SQLStatement] {
        [SQLStatement("CREATE TABLE IF NOT EXISTS bank_balances (account_id TEXT PRIMARY KEY, balance DECIMAL NOT NULL)")]
    }

    public var dropStatements: [SQLStatement] { [SQLStatement("DROP TABLE IF EXISTS bank_balances")] }

    public func statements(for event: RecordedEvent) throws -> [SQLStatement] {
        guard event.stream.category == Account.category else { return [] }
        let id = SQLValue.text(event.stream.id)
        switch try codec.decode(event) {
        case .opened:
            return [SQLStatement("INSERT INTO bank_balances (account_id, balance) VALUES (?, ?)", [id, .decimal(0)])]
        case .deposited(_, let balance, _), .withdrawn(_, let balance, _):
            return [SQLStatement("UPDATE bank_balances SET balance = ? WHERE account_id = ?", [.decimal(balance.decimal), id])]
        case .paymentDeclined, .closed:
            return []
        }
    }

    /// The balance of `account`, or nil for an account that does not exist.
    public static func query(_ account: String) -> SQLStatement {
        SQLStatement("SELECT balance FROM bank_balances WHERE account_id = ?", [.text(account)])
    }
}

extension Money {
    /// The amount as an exact decimal.
    public var decimal: Decimal { Decimal(cents) / 100 }

    /// The amount of an exact decimal with at most two places (nil otherwise).
    public init?(decimal: Decimal) {
        var cents = decimal * 100
        var rounded = Decimal()
        NSDecimalRound(&rounded, &cents, 0, .plain)
        guard rounded == decimal * 100, let value = Int64(exactly: NSDecimalNumber(decimal: rounded).int64Value) else { return nil }
        self.init(cents: value)
    }
}
