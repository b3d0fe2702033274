import BankApp
import BankHTTP
import Chronicle
import ChronicleHTTPTesting
import ChronicleTesting
import Foundation
import Testing

@Suite struct BankAPITests {
    /// The CQRS engine's own scenario: open, deposit 260, 40 and 30, restart, and the balance is 330 —
    /// with the domain's snapshots (every 50 events) and with one every 2 events, and after deleting
    /// every snapshot.
    @Test(arguments: [nil, 2])
    func theEnginesScenarioSurvivesARestart(snapshotEvery: Int?) async throws {
        let directory = try TemporaryDirectory()
        let bank = BankWeb(BankModule(snapshotEvery: snapshotEvery))
        try await TestServer(modules: [bank], directory: directory).run { client in
            let opened = try await client.send(.post, "/commands/CreateAccount", json: #"{"account_id": "jsdf"}"#)
            #expect(opened.status == 201 && opened["events"] == .array([.string("AccountOpened")]), "\(opened)")
            for amount in [#"260"#, #""40""#, #"30.00"#] {
                let deposited = try await client.send(.post, "/commands/DepositMoney", json: #"{"account_id": "jsdf", "amount": \#(amount)}"#)
                #expect(deposited.status == 200 && deposited["events"] == .array([.string("MoneyDeposited")]), "\(amount): \(deposited)")
            }
        }
        let restarted = try TestServer(modules: [bank], directory: directory)
        // Every 2 events: the snapshot after the last deposit (version 4); with the default, none yet.
        let snapshot = try await restarted.runtime.snapshots.latestSnapshot(of: BankModule.stream(of: "jsdf"))
        #expect(snapshot?.version == (snapshotEvery == nil ? nil : 4))
        try await restarted.run { client in
            let head = try await restarted.runtime.store.headPosition()
            let account = try await client.get("/bank/accounts/jsdf?after=\(head.rawValue)")
            #expect(account.status == 200 && account["balance"] == .string("330.00") && account["account_id"] == .string("jsdf"), "\(account)")
            // A withdrawal beyond the balance is accepted, as a declined payment (decided from the snapshot).
            let declined = try await client.send(.post, "/commands/WithdrawMoney", json: #"{"account_id": "jsdf", "amount": "330.01"}"#)
            #expect(declined.status == 200 && declined["events"] == .array([.string("PaymentDeclined")]), "\(declined)")
            try await restarted.runtime.snapshots.deleteAllSnapshots()
            let withdrawn = try await client.send(.post, "/commands/WithdrawMoney", json: #"{"account_id": "jsdf", "amount": 30}"#)
            #expect(withdrawn.status == 200 && withdrawn["events"] == .array([.string("MoneyWithdrawn")]), "\(withdrawn)")
            let after = try await client.get("/bank/accounts/jsdf?after=\(withdrawn.position)")
            #expect(after["balance"] == .string("300.00"), "\(after)")
        }
    }

    @Test func theContractsErrors() async throws {
        try await TestServer(modules: [BankWeb()]).run { client in
            let created = try await client.send(.post, "/commands/CreateAccount", json: #"{"account_id": "acc-1"}"#)
            let twice = try await client.send(.post, "/commands/CreateAccount", json: #"{"account_id": "acc-1"}"#)
            #expect(twice.status == 422 && twice.error == "the account exists already", "\(twice)")
            let unknown = try await client.send(.post, "/commands/DepositMoney", json: #"{"account_id": "nobody", "amount": "1"}"#)
            #expect(unknown.status == 422 && unknown.error == "no such account", "\(unknown)")
            #expect(try await client.send(.post, "/commands/OpenSesame", json: "{}").status == 404)
            for bad in [
                #"{"account_id": "acc-1", "amount": "1.234"}"#, #"{"account_id": "acc-1", "amount": -5}"#, #"{"account_id": "acc-1", "amount": "0"}"#,
                #"{"account_id": "acc-1", "amount": 1e30}"#, #"{"account_id": "acc-1", "amount": true}"#, #"{"account_id": "acc-1"}"#,
                #"{"account_id": "a b", "amount": "1"}"#, #"{"account_id": "", "amount": "1"}"#, #"{"amount": "1"}"#,
                #"{"account_id": "\#(String(repeating: "x", count: 65))", "amount": "1"}"#,
            ] {
                let answer = try await client.send(.post, "/commands/DepositMoney", json: bad)
                #expect(answer.status == 400 && answer.error != nil, "\(bad): \(answer)")
            }
            #expect(try await client.get("/bank/accounts/nobody").status == 404)
            let balance = try await client.get("/bank/accounts/acc-1?after=\(created.position)")
            #expect(balance["balance"] == .string("0.00"), "\(balance)")
        }
    }

    /// Three accepted requests broke the bank for good: a second deposit of a trillion stored a balance
    /// the codec could not read back, and every read model and the transfer process faulted at it. The
    /// deposit is now refused (422) and every read model keeps running.
    @Test func aBalanceBeyondTheMaximumIsRefusedAndNothingFaults() async throws {
        let server = try TestServer(modules: [BankWeb()])
        try await server.run { client in
            #expect(try await client.send(.post, "/commands/CreateAccount", json: #"{"account_id": "x"}"#).status == 201)
            let first = try await client.send(.post, "/commands/DepositMoney", json: #"{"account_id": "x", "amount": "1000000000000"}"#)
            #expect(first.status == 200, "\(first)")
            let second = try await client.send(.post, "/commands/DepositMoney", json: #"{"account_id": "x", "amount": "1000000000000"}"#)
            #expect(second.status == 422, "\(second)")
            #expect(second.error?.contains("would exceed") == true, "\(second)")
            let head = try await server.runtime.store.headPosition()
            #expect(head.rawValue == first.position)
            let account = try await client.get("/bank/accounts/x?after=\(head.rawValue)")
            #expect(account["balance"] == .string("1000000000000.00"), "\(account)")
            // Accounts created afterwards are seen, and no subscription is faulted.
            #expect(try await client.send(.post, "/commands/CreateAccount", json: #"{"account_id": "y"}"#).status == 201)
            let later = try await server.runtime.store.headPosition()
            #expect(try await client.get("/bank/accounts/y?after=\(later.rawValue)").status == 200)
            #expect(server.runtime.runners.allSatisfy { if case .faulted = $0.currentStatus.state { false } else { true } })
        }
    }
}
