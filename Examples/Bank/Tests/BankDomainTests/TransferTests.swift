import BankDomain
import Chronicle
import ChronicleTesting
import Foundation
import Testing

@Suite struct TransferDeciderTests {
    private let ten = Money(cents: 1_000)

    @Test func aTransferIsRequestedOnceBetweenTwoAccounts() {
        Transfer.given().when(.request(from: "a", to: "b", amount: ten)).then(.requested(from: "a", to: "b", amount: ten))
        Transfer.given(.requested(from: "a", to: "b", amount: ten)).when(.request(from: "a", to: "b", amount: ten)).thenRejects(.transferExists)
        Transfer.given().when(.request(from: "a", to: "a", amount: ten)).thenRejects(.sameAccount)
        Transfer.given().when(.request(from: "a", to: "b", amount: .zero)).thenRejects(.amountNotPositive)
        Transfer.given().when(.complete).thenRejects(.unknownTransfer)
    }

    @Test func aSettledTransferStaysSettled() {
        let requested = Transfer.Event.requested(from: "a", to: "b", amount: ten)
        Transfer.given(requested, .completed).when(.complete).then()
        Transfer.given(requested, .completed).when(.refund).thenRejects(.settled)
        Transfer.given(requested, .declined(reason: "insufficient funds")).when(.complete).thenRejects(.settled)
        // A deadline that falls due after settlement does nothing.
        Transfer.given(requested, .refunded).when(.timeOut).then()
    }

    @Test func aTransferTimesOutOnce() {
        let requested = Transfer.Event.requested(from: "a", to: "b", amount: ten)
        Transfer.given(requested).when(.timeOut).then(.timedOut)
        Transfer.given(requested, .timedOut).when(.timeOut).then()
        // Timing out does not settle: the money's answer does.
        Transfer.given(requested, .timedOut).when(.refund).then(.refunded)
    }
}

@Suite struct TransferProcessTests {
    private let process = TransferProcess(timeout: .seconds(30))
    private let ten = Money(cents: 1_000)
    private var requested: TransferProcess.Event { .transfer(id: "t1", .requested(from: "a", to: "b", amount: ten)) }
    private var debited: TransferProcess.Event { .account(id: "a", transfer: "t1", .withdrawn(amount: ten, balance: .zero, transfer: "t1")) }
    private var credited: TransferProcess.Event { .account(id: "b", transfer: "t1", .deposited(amount: ten, balance: ten, transfer: "t1")) }
    private var refundedToSource: TransferProcess.Event { .account(id: "a", transfer: "t1", .deposited(amount: ten, balance: ten, transfer: "t1")) }
    private let timeout = ProcessAction.schedule(ProcessCommand("TimeOutTransfer", ["transfer_id": "t1"]), after: .seconds(30), key: "step")

    private func money(_ type: String, _ account: String) -> ProcessAction {
        .send(ProcessCommand(type, ["account_id": .string(account), "amount": "10.00", "transfer_id": "t1"]))
    }

    private func transfer(_ type: String, reason: String? = nil) -> ProcessAction {
        var fields: [String: JSONValue] = ["transfer_id": "t1"]
        if let reason { fields["reason"] = .string(reason) }
        return .send(ProcessCommand(type, fields))
    }

    @Test func aRequestDebitsTheSourceAndSetsADeadline() {
        #expect(process.actions(given: [], when: requested) == [money("DebitAccount", "a"), timeout])
        #expect(process.correlate(debited) == "t1")
    }

    @Test func theDebitCreditsTheTargetAndTheCreditCompletes() {
        #expect(process.actions(given: [requested], when: debited) == [money("CreditAccount", "b"), timeout])
        #expect(process.actions(given: [requested, debited], when: credited) == [.cancel(key: "step"), transfer("CompleteTransfer")])
        #expect(process.actions(given: [requested, debited, credited], when: .transfer(id: "t1", .completed)) == [.cancel(key: "step")])
        #expect(process.isFinished(process.state(after: [requested, debited, credited, .transfer(id: "t1", .completed)])))
    }

    @Test func aDeclinedPaymentDeclinesTheTransfer() {
        let declined = TransferProcess.Event.account(id: "a", transfer: "t1", .paymentDeclined(amount: ten, balance: .zero, transfer: "t1"))
        #expect(process.actions(given: [requested], when: declined) == [.cancel(key: "step"), transfer("DeclineTransfer", reason: "insufficient funds")])
    }

    @Test func aSourceThatRejectsTheDebitDeclinesTheTransfer() {
        let state = process.state(after: [requested])
        let debit = ProcessCommand("DebitAccount", ["account_id": "a", "amount": "10.00", "transfer_id": "t1"])
        #expect(process.rejected(debit, reason: "no such account", in: state) == [.cancel(key: "step"), transfer("DeclineTransfer", reason: "no such account")])
    }

    /// Compensation: the target refuses the money; the source is paid back, then the transfer is refunded.
    @Test func aTargetThatRefusesTheCreditRefundsTheSource() {
        let state = process.state(after: [requested, debited])
        let credit = ProcessCommand("CreditAccount", ["account_id": "b", "amount": "10.00", "transfer_id": "t1"])
        #expect(process.rejected(credit, reason: "the account is closed", in: state) == [transfer("RefuseTransferCredit", reason: "the account is closed")])
        let refused = TransferProcess.Event.transfer(id: "t1", .creditRefused(reason: "the account is closed"))
        #expect(process.actions(given: [requested, debited], when: refused) == [money("CreditAccount", "a")])
        #expect(process.actions(given: [requested, debited, refused], when: refundedToSource) == [.cancel(key: "step"), transfer("RefundTransfer")])
        // A refund the source refuses has nothing left to compensate with.
        let refund = ProcessCommand("CreditAccount", ["account_id": "a", "amount": "10.00", "transfer_id": "t1"])
        #expect(process.rejected(refund, reason: "the account is closed", in: process.state(after: [requested, debited, refused])) == [])
    }

    /// The timeout: a debit that lands after the transfer timed out is paid back, never credited on.
    @Test func aDebitThatLandsAfterTheTimeoutIsRefunded() {
        let timedOut = TransferProcess.Event.transfer(id: "t1", .timedOut)
        #expect(process.actions(given: [requested], when: timedOut) == [])
        #expect(process.actions(given: [requested, timedOut], when: debited) == [.cancel(key: "step"), money("CreditAccount", "a")])
        #expect(process.actions(given: [requested, timedOut, debited], when: refundedToSource) == [.cancel(key: "step"), transfer("RefundTransfer")])
        // Never a credit to the target as well.
        #expect(process.actions(given: [requested, timedOut, debited], when: credited) == [])
    }

    /// Once the credit is under way, its answer settles the transfer: a timeout then changes nothing.
    @Test func aTimeoutAfterTheCreditWasSentLeavesItToTheCredit() {
        let timedOut = TransferProcess.Event.transfer(id: "t1", .timedOut)
        #expect(process.actions(given: [requested, debited], when: timedOut) == [])
        #expect(process.actions(given: [requested, debited, timedOut], when: credited) == [.cancel(key: "step"), transfer("CompleteTransfer")])
    }

    @Test func eventsOfOtherProcessesOrWithoutATransferAreNotItsBusiness() throws {
        let codec = AccountEventCodec()
        let encoded = try codec.encode(.deposited(amount: ten, balance: ten, transfer: nil))
        let plain = RecordedEvent(
            id: UUID(), stream: try StreamName(category: "account", id: "a"), version: 2, position: 2, type: encoded.type, schemaVersion: 1,
            data: encoded.data, metadata: Metadata(), recordedAt: Date())
        #expect(try process.decode(plain) == nil)
        var todo = plain
        todo.stream = try StreamName(category: "todo", id: "x")
        #expect(try process.decode(todo) == nil)
    }
}
