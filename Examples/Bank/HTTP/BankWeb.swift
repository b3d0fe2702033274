import BankApp
import BankDomain
import Chronicle
import ChronicleHTTP
import ChronicleRuntime
import Foundation
import Hummingbird

/// The bank's web side: its queries and its page under `/bank` (its commands go through
/// `POST /commands/:type`).
///
/// - `GET /bank/accounts` → `{"accounts": [{"account_id", "balance"}]}` (for the page);
/// - `GET /bank/accounts/:id` → `{"account_id", "balance"}`, the balance a decimal string; 404 for no account;
/// - `GET /bank/accounts/:id/statement` → `{"account_id", "entries": [{"position", "entry", "amount",
///   "balance", "transfer_id", "at"}]}`, oldest first (`entry`: opened, deposit, withdrawal,
///   payment_declined, closed); 404 for no account;
/// - `GET /bank/transfers` → `{"transfers": [...]}`, newest first (for the page);
/// - `GET /bank/transfers/:id` → `{"transfer_id", "status", "from_account_id", "to_account_id", "amount",
///   "reason", "timed_out"}`, status `in_progress`, `completed`, `declined` or `refunded`; 404 for none.
///
/// Every query takes `?after=<position>` to see a given write.
public struct BankWeb: HTTPModule {
    /// The application: commands, read models, the transfer process.
    public let bank: BankModule

    /// The web side of `bank`.
    public init(_ bank: BankModule = BankModule()) {
        self.bank = bank
    }

    public var application: any ApplicationModule { bank }

    /// Opening an account creates it: `201`.
    public var creatingCommands: [any NamedCommand.Type] { [CreateAccount.self] }

    public var pages: StaticPages? { StaticPages(folder: Bundle.module.resourceURL?.appendingPathComponent("Public"), path: "/bank") }

    public func addRoutes(to routes: RouteTable, runtime: ChronicleRuntime) {
        routes.get("/bank/accounts") { request, _ in
            JSONBody.response(.ok, ["accounts": try await runtime.rows(AccountBalances.all, for: request)])
        }
        routes.get("/bank/accounts/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            guard let balance = try await runtime.rows(AccountBalances.balance(of: id), for: request).first else {
                return JSONBody.error(.notFound, "no account \(id.prefix(64))")
            }
            return JSONBody.response(.ok, balance)
        }
        routes.get("/bank/accounts/:id/statement") { request, context in
            let id = context.parameters.get("id") ?? ""
            let entries = try await runtime.rows(AccountStatements.entries(of: id), for: request)
            guard !entries.isEmpty else { return JSONBody.error(.notFound, "no account \(id.prefix(64))") }
            return JSONBody.response(.ok, Statement(accountId: id, entries: entries))
        }
        routes.get("/bank/transfers") { request, _ in
            JSONBody.response(.ok, ["transfers": try await runtime.rows(TransferStatuses.latest(limit: 100), for: request)])
        }
        routes.get("/bank/transfers/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            guard let transfer = try await runtime.rows(TransferStatuses.status(of: id), for: request).first else {
                return JSONBody.error(.notFound, "no transfer \(id.prefix(64))")
            }
            return JSONBody.response(.ok, transfer)
        }
    }

    struct Statement: Encodable {
        let accountId: String
        let entries: [AccountStatements.Entry]
        enum CodingKeys: String, CodingKey { case accountId = "account_id", entries }
    }
}
