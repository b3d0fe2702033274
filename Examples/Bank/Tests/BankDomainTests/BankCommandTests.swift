import BankDomain
import Chronicle
import Foundation
import Testing

/// The bank's commands read their bodies to the letter of the HTTP contract: each field's message, and
/// the order the fields are checked in (the first wrong one is the one named).
@Suite struct BankCommandTests {
    func refusal<C: NamedCommand>(_ type: C.Type, _ body: String) -> String? {
        do {
            _ = try JSONDecoder().decode(C.self, from: Data(body.utf8))
            return nil
        } catch let error as CommandFieldError {
            return error.description
        } catch {
            return "\(error)"
        }
    }

    @Test func eachFieldIsRefusedInTheContractsWords() throws {
        #expect(refusal(CreateAccount.self, "{}") == "account_id is missing or not a string")
        #expect(refusal(CreateAccount.self, #"{"account_id": 7}"#) == "account_id is missing or not a string")
        #expect(refusal(CreateAccount.self, #"{"account_id": "a b"}"#) == "account_id must be 1 to 64 letters, digits, _, - or .")
        #expect(refusal(DepositMoney.self, #"{"account_id": "a"}"#) == "amount is missing: a positive decimal with at most two places, as a string or a number")
        #expect(refusal(DepositMoney.self, #"{"account_id": "a", "amount": "0"}"#) == #"amount must be a positive decimal with at most two places ("23.50")"#)
        #expect(refusal(DepositMoney.self, #"{"account_id": "a", "amount": 1.005}"#) == #"amount must be a positive decimal with at most two places ("23.50")"#)
        #expect(refusal(DeclineTransfer.self, #"{"transfer_id": "t", "reason": ""}"#) == "reason must be a string of 1 to 500 characters")
        #expect(try JSONDecoder().decode(DepositMoney.self, from: Data(#"{"account_id": "a", "amount": 23}"#.utf8)).amount == Money("23.00"))
    }

    @Test func theFieldsAreCheckedInTheContractsOrder() {
        // Deposit: the amount before the account; a transfer: from, to, amount, then its id.
        #expect(refusal(DepositMoney.self, #"{"account_id": "a b"}"#)?.hasPrefix("amount is missing") == true)
        #expect(refusal(TransferMoney.self, #"{"to_account_id": "b b", "amount": "x"}"#) == "from_account_id is missing or not a string")
        #expect(refusal(TransferMoney.self, #"{"from_account_id": "a", "to_account_id": "b b", "amount": "x"}"#)?.hasPrefix("to_account_id") == true)
        #expect(refusal(TransferMoney.self, #"{"from_account_id": "a", "to_account_id": "b", "amount": "x"}"#)?.hasPrefix("amount must") == true)
        #expect(refusal(TransferMoney.self, #"{"from_account_id": "a", "to_account_id": "b", "amount": "1"}"#) == "transfer_id is missing or not a string")
        #expect(refusal(DebitAccount.self, #"{"account_id": "a b"}"#)?.hasPrefix("amount is missing") == true)
        #expect(refusal(DebitAccount.self, #"{"account_id": "a b", "amount": "1"}"#) == "transfer_id is missing or not a string")
        #expect(refusal(RefuseTransferCredit.self, #"{}"#) == "reason must be a string of 1 to 500 characters")
    }

    @Test func aProcessesCommandsEncodeAsTheyAlwaysHave() throws {
        let debit = try StoredJSON.encode(DebitAccount(accountId: "a/1", amount: Money("23.50") ?? .zero, transferId: "t"))
        #expect(String(decoding: debit, as: UTF8.self) == #"{"account_id":"a/1","amount":"23.50","transfer_id":"t"}"#)
        let declined = try StoredJSON.encode(DeclineTransfer(transferId: "t", reason: "no"))
        #expect(String(decoding: declined, as: UTF8.self) == #"{"reason":"no","transfer_id":"t"}"#)
    }
}
