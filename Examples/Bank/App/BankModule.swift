import BankDomain
import Chronicle
import ChronicleRuntime
import Foundation

/// The bank as a module of a ``ChronicleRuntime``: its account commands on the command bus
/// (`CreateAccount`, `DepositMoney`, `WithdrawMoney`) and the balances read model. Its web side is
/// `BankWeb` in BankHTTP.
public struct BankModule: ApplicationModule {
    public let name = "bank"
    /// How often an account's state is snapshotted, in events (default: the domain's 50).
    public let snapshotEvery: Int?

    /// The module; `snapshotEvery` overrides how often accounts are snapshotted.
    public init(snapshotEvery: Int? = nil) {
        self.snapshotEvery = snapshotEvery
    }

    public var readModels: [any SQLReadModel] { [AccountBalances()] }

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
    }

    /// The stream of the account `id`.
    public static func stream(of id: String) throws -> StreamName {
        try StreamName(category: Account.category, id: id)
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

    /// An account id: letters, digits, `_`, `-`, `.`, 1 to 64 of them.
    func account(_ key: String) throws(CommandBusError) -> StreamName {
        guard case .string(let id)? = fields[key] else { throw refuse("\(key) is missing or not a string") }
        let allowed = id.unicodeScalars.allSatisfy { ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || "_-.".unicodeScalars.contains($0) }
        guard (1...64).contains(id.count), allowed, let stream = try? BankModule.stream(of: id) else {
            throw refuse("\(key) must be 1 to 64 letters, digits, _, - or .")
        }
        return stream
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
