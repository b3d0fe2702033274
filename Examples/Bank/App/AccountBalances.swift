import BankDomain
import Chronicle
import Foundation

/// Each account's balance, exactly (a decimal), from its events.
public struct AccountBalances: CategoryReadModel {
    public let name = "bank_balances"
    public let category = Account.category

    public init() {}

    public let tables = [SQLTable("bank_balances", "account_id TEXT PRIMARY KEY, balance DECIMAL NOT NULL")]

    public func statements(for event: Account.Event, _ recorded: RecordedEvent) throws -> [SQLStatement] {
        let id = SQLValue.text(recorded.stream.id)
        switch event {
        case .opened:
            return [SQLStatement("INSERT INTO bank_balances (account_id, balance) VALUES (?, ?)", [id, .decimal(0)])]
        case .deposited(_, let balance, _), .withdrawn(_, let balance, _):
            return [SQLStatement("UPDATE bank_balances SET balance = ? WHERE account_id = ?", [.decimal(balance.decimal), id])]
        case .paymentDeclined, .closed:
            return []
        }
    }

    /// An account's balance.
    public struct Balance: Codable, Sendable {
        public let accountId: String
        public let balance: MoneyColumn
        enum CodingKeys: String, CodingKey { case accountId = "account_id", balance }
    }

    /// The balance of `account` (none for an account that does not exist).
    public static func balance(of account: String) -> ReadModelQuery<Self, Balance> {
        ReadModelQuery("SELECT account_id, balance FROM bank_balances WHERE account_id = ?", [.text(account)])
    }

    /// Every account's balance, by id (the first thousand).
    public static let all = ReadModelQuery<Self, Balance>("SELECT account_id, balance FROM bank_balances ORDER BY account_id LIMIT 1000")
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

/// Money in a `DECIMAL` column of a row type; in JSON, its decimal string with two places.
public struct MoneyColumn: Codable, Sendable {
    public let money: Money

    public init(from decoder: any Decoder) throws {
        let decimal = try decoder.singleValueContainer().decode(Decimal.self)
        guard let money = Money(decimal: decimal) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "\(decimal) is not an amount"))
        }
        self.money = money
    }

    public func encode(to encoder: any Encoder) throws { try money.encode(to: encoder) }
}
