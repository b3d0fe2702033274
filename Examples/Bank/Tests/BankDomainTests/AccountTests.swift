import BankDomain
import Chronicle
import ChronicleTesting
import Foundation
import Testing

@Suite struct AccountTests {
    private func money(_ text: String) throws -> Money { try #require(Money(text)) }

    @Test func anAccountIsOpenedOnce() throws {
        Account.given().when(.open).then(.opened)
        Account.given(.opened).when(.open).thenRejects(.accountExists)
    }

    /// The engine's scenario: deposits of 260, 40 and 30 make 330.
    @Test func depositsAddUpExactly() throws {
        let history: [Account.Event] = [
            .opened,
            .deposited(amount: try money("260"), balance: try money("260"), transfer: nil),
            .deposited(amount: try money("40"), balance: try money("300"), transfer: nil),
        ]
        Account.given(history).when(.deposit(try money("30"))).then(.deposited(amount: try money("30"), balance: try money("330"), transfer: nil))
        #expect(Account.fold(history + [.deposited(amount: try money("30"), balance: try money("330"), transfer: nil)]) == .open(balance: try money("330.00")))
    }

    @Test func aWithdrawalThatWouldOverdrawIsADeclinedPaymentNotAnError() throws {
        let funded: [Account.Event] = [.opened, .deposited(amount: try money("50"), balance: try money("50"), transfer: nil)]
        Account.given(funded).when(.withdraw(try money("20.50"))).then(.withdrawn(amount: try money("20.50"), balance: try money("29.50"), transfer: nil))
        Account.given(funded).when(.withdraw(try money("50"))).then(.withdrawn(amount: try money("50"), balance: .zero, transfer: nil))
        Account.given(funded).when(.withdraw(try money("50.01")))
            .then(.paymentDeclined(amount: try money("50.01"), balance: try money("50"), transfer: nil))
        // A declined payment leaves the balance as it was.
        #expect(Account.fold(funded + [.paymentDeclined(amount: try money("99"), balance: try money("50"), transfer: nil)]) == .open(balance: try money("50")))
    }

    @Test func moneyForATransferCarriesItsId() throws {
        Account.given(.opened).when(.deposit(try money("5"), transfer: "t-1"))
            .then(.deposited(amount: try money("5"), balance: try money("5"), transfer: "t-1"))
        Account.given(.opened).when(.withdraw(try money("5"), transfer: "t-1"))
            .then(.paymentDeclined(amount: try money("5"), balance: .zero, transfer: "t-1"))
    }

    @Test func unknownAndClosedAccountsTakeNoMoney() throws {
        Account.given().when(.deposit(try money("1"))).thenRejects(.unknownAccount)
        Account.given().when(.withdraw(try money("1"))).thenRejects(.unknownAccount)
        Account.given(.opened, .closed).when(.deposit(try money("1"))).thenRejects(.accountClosed)
        Account.given(.opened).when(.deposit(.zero)).thenRejects(.amountNotPositive)
        Account.given(.opened).when(.withdraw(Money(cents: -100))).thenRejects(.amountNotPositive)
    }

    @Test func onlyAnEmptyAccountCloses() throws {
        Account.given(.opened).when(.close).then(.closed)
        Account.given(.opened, .deposited(amount: try money("1"), balance: try money("1"), transfer: nil)).when(.close)
            .thenRejects(.balanceNotZero(try money("1")))
    }
}

@Suite struct MoneyTests {
    @Test func readsAtMostTwoPlacesExactly() {
        #expect(Money("23.50")?.cents == 2350)
        #expect(Money("23")?.cents == 2300)
        #expect(Money("0.1").flatMap { a in Money("0.2").map { a + $0 } }?.description == "0.30")
        #expect(Money("330")?.description == "330.00")
        #expect(Money("-5.1")?.description == "-5.10")
        #expect(Money("1000000000000")?.cents == 100_000_000_000_000)
        for bad in ["", ".5", "5.", "1.234", "1e3", "+1", " 1", "1 ", "abc", "1,00", "1000000000000.01", "99999999999999", "--1", "0x10", "½"] {
            #expect(Money(bad) == nil, "\(bad)")
        }
    }
}

@Suite struct AccountEventCodecTests {
    /// NOTE: stored format. These bodies must keep decoding.
    @Test func storedFormsArePinned() throws {
        let codec = AccountEventCodec()
        let events: [(Account.Event, String, String)] = [
            (.opened, "AccountOpened", "{}"),
            (.deposited(amount: Money(cents: 26000), balance: Money(cents: 26000), transfer: nil), "MoneyDeposited", #"{"amount":"260.00","balance":"260.00"}"#),
            (
                .withdrawn(amount: Money(cents: 2050), balance: Money(cents: 2950), transfer: "t-1"), "MoneyWithdrawn",
                #"{"amount":"20.50","balance":"29.50","transfer_id":"t-1"}"#
            ),
            (.paymentDeclined(amount: Money(cents: 5001), balance: Money(cents: 5000), transfer: nil), "PaymentDeclined", #"{"amount":"50.01","balance":"50.00"}"#),
            (.closed, "AccountClosed", "{}"),
        ]
        for (event, type, body) in events {
            let encoded = try codec.encode(event)
            #expect(encoded.type == type)
            #expect(encoded.schemaVersion == 1)
            #expect(String(decoding: encoded.data, as: UTF8.self) == body)
            #expect(try codec.decode(EncodedEvent(type: type, schemaVersion: 1, data: Data(body.utf8))) == event)
        }
        #expect(throws: CodecError.self) {
            try codec.decode(EncodedEvent(type: "MoneyDeposited", schemaVersion: 1, data: Data(#"{"amount":23.5,"balance":"1"}"#.utf8)))
        }
    }
}
