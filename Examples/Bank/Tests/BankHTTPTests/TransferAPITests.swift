import BankApp
import BankHTTP
import Chronicle
import ChronicleHTTPTesting
import ChronicleTesting
import Foundation
import Testing

@Suite struct TransferAPITests {
    typealias Client = TestServer.Client

    func open(_ client: Client, _ id: String, deposit amount: String? = nil) async throws -> Int64 {
        var answer = try await client.send(.post, "/commands/CreateAccount", json: #"{"account_id": "\#(id)"}"#)
        #expect(answer.status == 201, "\(answer)")
        if let amount {
            answer = try await client.send(.post, "/commands/DepositMoney", json: #"{"account_id": "\#(id)", "amount": "\#(amount)"}"#)
            #expect(answer.status == 200, "\(answer)")
        }
        return answer.position
    }

    func transfer(_ client: Client, _ id: String, _ from: String, _ to: String, _ amount: String) async throws -> TestServer.Answer {
        try await client.send(
            .post, "/commands/TransferMoney", json: #"{"transfer_id": "\#(id)", "from_account_id": "\#(from)", "to_account_id": "\#(to)", "amount": "\#(amount)"}"#)
    }

    /// Waits until the transfer has settled; answers its status.
    func settled(_ client: Client, _ id: String) async throws -> String? {
        var status: String?
        try await eventually("transfer \(id) settles") {
            status = try await client.get("/bank/transfers/\(id)")["status"]?.stringValue
            return status != nil && status != "in_progress"
        }
        return status
    }

    @Test func aTransferDebitsTheSourceAndCreditsTheTarget() async throws {
        let clock = ManualProcessClock()
        let server = try TestServer(modules: [BankWeb()], clock: clock)
        try await server.run { client in
            _ = try await open(client, "alice", deposit: "100")
            _ = try await open(client, "bob")
            let requested = try await transfer(client, "t1", "alice", "bob", "30.50")
            #expect(requested.status == 200 && requested["events"] == .array(["TransferRequested"]), "\(requested)")
            #expect(try await settled(client, "t1") == "completed")
            let head = try await server.runtime.store.headPosition().rawValue
            #expect(try await client.get("/bank/accounts/alice?after=\(head)")["balance"] == "69.50")
            #expect(try await client.get("/bank/accounts/bob?after=\(head)")["balance"] == "30.50")
            let statement = try await client.get("/bank/accounts/alice/statement?after=\(head)")
            let entries = statement["entries"]?.arrayValue ?? []
            #expect(entries.map { $0["entry"] } == ["opened", "deposit", "withdrawal"], "\(statement)")
            #expect(entries.last?["transfer_id"] == "t1" && entries.last?["balance"] == "69.50" && entries.last?["amount"] == "30.50")
            #expect(try await client.get("/bank/accounts/nobody/statement").status == 404)
            let shown = try await client.get("/bank/transfers/t1")
            #expect(shown["from_account_id"] == "alice" && shown["to_account_id"] == "bob" && shown["amount"] == "30.50", "\(shown)")
            #expect(try await client.get("/bank/transfers/nothing").status == 404)
            // The step's deadline was cancelled: the clock passing it times nothing out.
            clock.advance(by: .seconds(3600))
            try await eventually("no process is open") { try await server.runtime.subscription(named: "bank_transfers_process")?.processes?.openCount() == 0 }
            let stream = try await server.runtime.store.read(StreamName(category: "transfer", id: "t1"), from: 1, direction: .forwards, limit: 10)
            #expect(stream.map(\.type) == ["TransferRequested", "TransferCompleted"])
        }
    }

    @Test func aSourceWithoutTheMoneyDeclines() async throws {
        try await TestServer(modules: [BankWeb()]).run { client in
            _ = try await open(client, "poor", deposit: "5")
            _ = try await open(client, "rich")
            _ = try await transfer(client, "t-poor", "poor", "rich", "5.01")
            #expect(try await settled(client, "t-poor") == "declined")
            _ = try await transfer(client, "t-ghost", "ghost", "rich", "1")
            #expect(try await settled(client, "t-ghost") == "declined")
            #expect(try await client.get("/bank/transfers/t-ghost")["reason"] == "no such account")
            let head = try await client.send(.post, "/commands/DepositMoney", json: #"{"account_id": "rich", "amount": "1"}"#).position
            #expect(try await client.get("/bank/accounts/poor?after=\(head)")["balance"] == "5.00")
            #expect(try await client.get("/bank/accounts/rich?after=\(head)")["balance"] == "1.00")
        }
    }

    /// Compensation: the target does not exist; the source is paid back.
    @Test func aTargetThatRefusesTheMoneyIsRefunded() async throws {
        let server = try TestServer(modules: [BankWeb()])
        try await server.run { client in
            _ = try await open(client, "src", deposit: "20")
            _ = try await transfer(client, "t-back", "src", "nobody", "7")
            #expect(try await settled(client, "t-back") == "refunded")
            let head = try await server.runtime.store.headPosition().rawValue
            #expect(try await client.get("/bank/accounts/src?after=\(head)")["balance"] == "20.00")
            let entries = try await client.get("/bank/accounts/src/statement?after=\(head)")["entries"]?.arrayValue ?? []
            #expect(entries.map { $0["entry"] } == ["opened", "deposit", "withdrawal", "deposit"])
        }
    }

    @Test func transferCommandsAreCheckedAndInternalOnesAreNotReachable() async throws {
        try await TestServer(modules: [BankWeb()]).run { client in
            _ = try await open(client, "x", deposit: "10")
            #expect(try await transfer(client, "same", "x", "x", "1").status == 422)
            #expect(try await transfer(client, "bad id!", "x", "y", "1").status == 400)
            #expect(try await transfer(client, "t", "x", "y", "1.001").status == 400)
            #expect(try await client.send(.post, "/commands/TransferMoney", json: #"{"transfer_id": "t"}"#).status == 400)
            // A process's own commands cannot be sent from outside.
            for type in ["DebitAccount", "CreditAccount", "CompleteTransfer", "RefundTransfer", "TimeOutTransfer"] {
                let answer = try await client.send(.post, "/commands/\(type)", json: #"{"transfer_id": "t", "account_id": "x", "amount": "1"}"#)
                #expect(answer.status == 404, "\(type): \(answer)")
            }
            // A transfer sent twice with one command id is requested once.
            let body = #"{"transfer_id": "t-once", "from_account_id": "x", "to_account_id": "y", "amount": "1", "command_id": "5b0d5a44-6f1e-4d1f-9a55-2d7f1d0e8c11"}"#
            let first = try await client.send(.post, "/commands/TransferMoney", json: body)
            let again = try await client.send(.post, "/commands/TransferMoney", json: body)
            #expect(first.status == 200 && again.status == 200 && first.position == again.position, "\(first) / \(again)")
        }
    }
}
