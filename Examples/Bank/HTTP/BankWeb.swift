import BankApp
import BankDomain
import Chronicle
import ChronicleHTTP
import ChronicleRuntime
import Foundation
import Hummingbird

/// The bank's web side: its queries under `/bank` (its commands go through `POST /commands/:type`).
public struct BankWeb: HTTPModule {
    /// The application: commands and read models.
    public let bank: BankModule

    /// The web side of `bank`.
    public init(_ bank: BankModule = BankModule()) {
        self.bank = bank
    }

    public var name: String { bank.name }
    public var readModels: [any SQLReadModel] { bank.readModels }
    public func reactors(_ context: ModuleContext) -> [any Reactor] { bank.reactors(context) }
    public func registerCommands(on bus: CommandBus, runtime: ChronicleRuntime) throws {
        try bank.registerCommands(on: bus, runtime: runtime)
    }

    public func addRoutes(to routes: RouteTable, runtime: ChronicleRuntime) {
        // `{"account_id", "balance"}`, the balance a decimal string with two places; 404 for no account.
        routes.get("/bank/accounts/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            try await runtime.catchUp(readModel: "bank_balances", after: try request.position("after"))
            guard let balance = try await runtime.queries.rows(AccountBalances.query(id)).first?["balance"]?.decimal,
                let money = Money(decimal: balance)
            else { return JSONBody.error(.notFound, "no account \(id.prefix(64))") }
            return JSONBody.response(.ok, ["account_id": id, "balance": money.description])
        }
    }
}
