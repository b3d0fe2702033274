import BankDomain
import Chronicle
import Foundation
import Testing

@Suite struct AccountRevertTests {
    let store = InMemoryEventStore()
    let codec = AccountEventCodec()
    let stream = try! StreamName(category: "account", id: "jsdf")

    func append(_ events: [Account.Event]) async throws {
        let version = try await store.version(of: stream)
        _ = try await store.append(
            try events.map {
                let e = try codec.encode($0); return NewEvent(id: UUID(), type: e.type, schemaVersion: e.schemaVersion, data: e.data)
            },
            to: stream, expecting: .exactly(version))
    }

    func balance() async throws -> Account.State {
        Account.fold(try await store.read(stream, from: 1, direction: .forwards, limit: 100).map { try codec.decode($0) })
    }

    @Test func aReversedDepositIsAWithdrawalAndAReversedWithdrawalADeposit() async throws {
        try await append([
            .opened, .deposited(amount: Money(cents: 26_000), balance: Money(cents: 26_000), transfer: nil),
            .withdrawn(amount: Money(cents: 1_000), balance: Money(cents: 25_000), transfer: nil),
            .paymentDeclined(amount: Money(cents: 99_900), balance: Money(cents: 25_000), transfer: nil),
        ])
        let outcome = try await Reverter<Account, AccountEventCodec>(store: store, codec: codec).revert(stream, toVersion: 1)
        #expect(outcome.reverted, "\(outcome)")
        #expect(outcome.steps.map(\.compensatedBy) == [[], ["MoneyDeposited"], ["MoneyWithdrawn"]])
        #expect(try await balance() == .open(balance: .zero))
    }

    /// Money a transfer moved is undone by the transfer, never by reverting one account: refused, named.
    @Test func moneyMovedForATransferRefusesTheRevert() async throws {
        try await append([
            .opened, .deposited(amount: Money(cents: 5_000), balance: Money(cents: 5_000), transfer: nil),
            .deposited(amount: Money(cents: 1_000), balance: Money(cents: 6_000), transfer: nil),
            .withdrawn(amount: Money(cents: 5_500), balance: Money(cents: 500), transfer: "t1"),
        ])
        let outcome = try await Reverter<Account, AccountEventCodec>(store: store, codec: codec).revert(stream, toVersion: 2)
        #expect(!outcome.reverted && outcome.refusals.first?.note?.contains("transfer t1") == true, "\(outcome)")
        #expect(try await store.version(of: stream) == 4)
    }
}
