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

    public var pages: StaticPages? { StaticPages(folder: Bundle.module.resourceURL?.appendingPathComponent("Public"), path: "/bank") }

    public func addRoutes(to routes: RouteTable, runtime: ChronicleRuntime) {
        routes.get("/bank/accounts") { request, _ in
            try await runtime.catchUp(readModel: "bank_balances", after: try request.position("after"))
            let rows = try await runtime.queries(for: request, module: name).rows(
                SQLStatement("SELECT account_id, balance FROM bank_balances ORDER BY account_id LIMIT 1000"))
            let accounts = rows.map { row in
                ["account_id": row["account_id"]?.text ?? "", "balance": Self.money(row["balance"]) ?? ""]
            }
            return JSONBody.response(.ok, ["accounts": accounts])
        }
        routes.get("/bank/accounts/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            try await runtime.catchUp(readModel: "bank_balances", after: try request.position("after"))
            guard let balance = Self.money(try await runtime.queries(for: request, module: name).rows(AccountBalances.query(id)).first?["balance"]) else {
                return JSONBody.error(.notFound, "no account \(id.prefix(64))")
            }
            return JSONBody.response(.ok, ["account_id": id, "balance": balance])
        }
        routes.get("/bank/accounts/:id/statement") { request, context in
            let id = context.parameters.get("id") ?? ""
            try await runtime.catchUp(readModel: "bank_statements", after: try request.position("after"))
            let rows = try await runtime.queries(for: request, module: name).rows(AccountStatements.query(id))
            guard !rows.isEmpty else { return JSONBody.error(.notFound, "no account \(id.prefix(64))") }
            let entries = rows.map { row in
                Entry(
                    position: row["position"]?.integer ?? 0, entry: row["entry"]?.text ?? "", amount: Self.money(row["amount"]),
                    balance: Self.money(row["balance"]), transferId: row["transfer_id"]?.text, at: row["recorded_at"]?.timestamp?.description ?? "")
            }
            return JSONBody.response(.ok, Statement(accountId: id, entries: entries))
        }
        routes.get("/bank/transfers") { request, _ in
            try await runtime.catchUp(readModel: "bank_transfers", after: try request.position("after"))
            let rows = try await runtime.queries(for: request, module: name).rows(TransferStatuses.latest(limit: 100))
            return JSONBody.response(.ok, ["transfers": rows.map(Self.transfer)])
        }
        routes.get("/bank/transfers/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            try await runtime.catchUp(readModel: "bank_transfers", after: try request.position("after"))
            guard let row = try await runtime.queries(for: request, module: name).rows(TransferStatuses.query(id)).first else {
                return JSONBody.error(.notFound, "no transfer \(id.prefix(64))")
            }
            return JSONBody.response(.ok, Self.transfer(row))
        }
    }

    /// A decimal column as money's decimal string with two places.
    static func money(_ value: SQLValue?) -> String? {
        value?.decimal.flatMap(Money.init(decimal:))?.description
    }

    static func transfer(_ row: SQLRow) -> TransferView {
        TransferView(
            transferId: row["transfer_id"]?.text ?? "", status: row["status"]?.text ?? "", fromAccountId: row["from_account_id"]?.text ?? "",
            toAccountId: row["to_account_id"]?.text ?? "", amount: money(row["amount"]) ?? "", reason: row["reason"]?.text,
            timedOut: row["timed_out"]?.bool ?? false)
    }

    struct Entry: Encodable {
        let position: Int64
        let entry: String
        let amount: String?
        let balance: String?
        let transferId: String?
        let at: String
        enum CodingKeys: String, CodingKey { case position, entry, amount, balance, transferId = "transfer_id", at }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(position, forKey: .position)
            try c.encode(entry, forKey: .entry)
            try c.encode(amount, forKey: .amount)
            try c.encode(balance, forKey: .balance)
            try c.encode(transferId, forKey: .transferId)
            try c.encode(at, forKey: .at)
        }
    }

    struct Statement: Encodable {
        let accountId: String
        let entries: [Entry]
        enum CodingKeys: String, CodingKey { case accountId = "account_id", entries }
    }

    struct TransferView: Encodable {
        let transferId: String
        let status: String
        let fromAccountId: String
        let toAccountId: String
        let amount: String
        let reason: String?
        let timedOut: Bool
        enum CodingKeys: String, CodingKey {
            case transferId = "transfer_id", status, fromAccountId = "from_account_id", toAccountId = "to_account_id", amount, reason
            case timedOut = "timed_out"
        }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(transferId, forKey: .transferId)
            try c.encode(status, forKey: .status)
            try c.encode(fromAccountId, forKey: .fromAccountId)
            try c.encode(toAccountId, forKey: .toAccountId)
            try c.encode(amount, forKey: .amount)
            try c.encode(reason, forKey: .reason)
            try c.encode(timedOut, forKey: .timedOut)
        }
    }
}
