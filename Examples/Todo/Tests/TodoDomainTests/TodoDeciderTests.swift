import Foundation
import ChronicleTesting
import TodoDomain
import Testing

let id = TodoID("0B341422-C516-4EE4-8F3E-EF1992DFFF32")!  // safe: a literal valid UUID
let milk = Todo.Details(title: "Buy milk", description: "Semi-skimmed", dueDate: "2017-01-02", stakeholderEmail: "ada@example.com")
let added = Todo.Event.added(milk)

@Suite struct TodoIdTests {
    @Test func acceptsAnyLetterCaseAndAnswersLowercase() {
        #expect(id.description == "0b341422-c516-4ee4-8f3e-ef1992dfff32")
        #expect(TodoID("0b341422-c516-4ee4-8f3e-ef1992dfff32") == id)
        #expect(TodoID("not-a-uuid") == nil)
        #expect(Todo.stream(id).description == "todo-0b341422-c516-4ee4-8f3e-ef1992dfff32")
    }

    @Test(arguments: [
        ("2017-01-02", true), ("2016-02-29", true), ("2017-02-29", false), ("1900-02-29", false),
        ("2000-02-29", true), ("2017-13-01", false), ("2017-1-2", false), ("tomorrow", false), ("2017-04-31", false),
    ])
    func validatesCalendarDates(_ date: String, _ valid: Bool) {
        #expect(CalendarDate.isValid(date) == valid)
    }
}

@Suite struct AddTests {
    @Test func addsWithTheFieldsGiven() {
        Todo.given().when(.add(id, milk)).then(added)
        Todo.given().when(.add(id, .init(title: "Only a title"))).then(.added(.init(title: "Only a title")))
    }

    @Test func refusesAnExistingId() {
        Todo.given(added).when(.add(id, milk)).thenRejects(.alreadyExists(id))
    }

    @Test func requiresATitle() {
        Todo.given().when(.add(id, .init(title: nil))).thenRejects(.titleBlank)
        Todo.given().when(.add(id, .init(title: "  "))).thenRejects(.titleBlank)
    }

    @Test func requiresAValidDueDate() {
        Todo.given().when(.add(id, .init(title: "x", dueDate: "someday"))).thenRejects(.invalidDate(field: "due_date"))
    }
}

@Suite struct AmendTests {
    @Test func amendsOnlyTheFieldsGivenAndClearsNulls() {
        let amendment = Todo.Amendment(title: .set("Buy oat milk"), description: .cleared)
        Todo.given(added).when(.amend(id, amendment)).then(.amended(amendment))
        let state = Todo.fold([added, .amended(amendment)])
        #expect(state.title == "Buy oat milk" && state.description == nil && state.dueDate == "2017-01-02")
    }

    @Test func anEmptyAmendIsANoOp() {
        Todo.given(added).when(.amend(id, .init())).then()
    }

    @Test func refusesUnknownCompletedAbandonedAndInvalid() {
        let amendment = Todo.Amendment(title: .set("x"))
        Todo.given().when(.amend(id, amendment)).thenRejects(.doesNotExist(id))
        Todo.given(added, .completed(completedOn: "2017-01-03")).when(.amend(id, amendment)).thenRejects(.isComplete(id))
        Todo.given(added, .abandoned(abandonedOn: "2017-01-03")).when(.amend(id, amendment)).thenRejects(.isAbandoned(id))
        Todo.given(added).when(.amend(id, .init(title: .cleared))).thenRejects(.titleBlank)
        Todo.given(added).when(.amend(id, .init(title: .set("")))).thenRejects(.titleBlank)
        Todo.given(added).when(.amend(id, .init(dueDate: .set("2017-02-30")))).thenRejects(.invalidDate(field: "due_date"))
    }
}

@Suite struct CompleteAndAbandonTests {
    @Test func completes() {
        Todo.given(added).when(.complete(id, completedOn: "2017-01-03")).then(.completed(completedOn: "2017-01-03"))
    }

    @Test func completeRules() {
        Todo.given().when(.complete(id, completedOn: "2017-01-03")).thenRejects(.doesNotExist(id))
        Todo.given(added, .completed(completedOn: "2017-01-03")).when(.complete(id, completedOn: "2017-01-04"))
            .thenRejects(.alreadyComplete(id))
        Todo.given(added, .abandoned(abandonedOn: "2017-01-03")).when(.complete(id, completedOn: "2017-01-04"))
            .thenRejects(.isAbandoned(id))
        Todo.given(added).when(.complete(id, completedOn: nil)).thenRejects(.blank(field: "completed_on"))
        Todo.given(added).when(.complete(id, completedOn: "")).thenRejects(.blank(field: "completed_on"))
        Todo.given(added).when(.complete(id, completedOn: "03/01/2017")).thenRejects(.invalidDate(field: "completed_on"))
    }

    @Test func abandons() {
        Todo.given(added).when(.abandon(id, abandonedOn: "2017-01-03")).then(.abandoned(abandonedOn: "2017-01-03"))
    }

    @Test func abandonRules() {
        Todo.given().when(.abandon(id, abandonedOn: "2017-01-03")).thenRejects(.doesNotExist(id))
        Todo.given(added, .abandoned(abandonedOn: "2017-01-03")).when(.abandon(id, abandonedOn: "2017-01-04"))
            .thenRejects(.alreadyAbandoned(id))
        Todo.given(added, .completed(completedOn: "2017-01-03")).when(.abandon(id, abandonedOn: "2017-01-04"))
            .thenRejects(.isComplete(id))
        Todo.given(added).when(.abandon(id, abandonedOn: nil)).thenRejects(.blank(field: "abandoned_on"))
        Todo.given(added).when(.abandon(id, abandonedOn: "2017-02-30")).thenRejects(.invalidDate(field: "abandoned_on"))
    }
}

@Suite struct MoveUpReopenClearTests {
    @Test func movesUpAnOutstandingTodo() {
        Todo.given(added).when(.moveUp(id)).then(.movedUp)
        Todo.given().when(.moveUp(id)).thenRejects(.doesNotExist(id))
        Todo.given(added, .completed(completedOn: "2017-01-03")).when(.moveUp(id)).thenRejects(.isComplete(id))
        Todo.given(added, .abandoned(abandonedOn: "2017-01-03")).when(.moveUp(id)).thenRejects(.isAbandoned(id))
    }

    @Test func reopensACompletedTodo() {
        Todo.given(added, .completed(completedOn: "2017-01-03")).when(.reopen(id)).then(.reopened)
        Todo.given(added, .completed(completedOn: "2017-01-03"), .reopened).when(.complete(id, completedOn: "2017-01-05"))
            .then(.completed(completedOn: "2017-01-05"))
        Todo.given().when(.reopen(id)).thenRejects(.doesNotExist(id))
        Todo.given(added).when(.reopen(id)).thenRejects(.isNotComplete(id))
        Todo.given(added, .abandoned(abandonedOn: "2017-01-03")).when(.reopen(id)).thenRejects(.isNotComplete(id))
        Todo.given(added, .completed(completedOn: "2017-01-03"), .cleared).when(.reopen(id)).thenRejects(.isCleared(id))
    }

    @Test func clearsACompletedTodoOnce() {
        Todo.given(added, .completed(completedOn: "2017-01-03")).when(.clear(id)).then(.cleared)
        Todo.given(added, .completed(completedOn: "2017-01-03"), .cleared).when(.clear(id)).then()
        Todo.given(added).when(.clear(id)).thenRejects(.isNotComplete(id))
        Todo.given().when(.clear(id)).thenRejects(.doesNotExist(id))
    }

    @Test func rejectionsNameTheRuleAsEventSourceryDoes() {
        #expect(Todo.Rejection.alreadyExists(id).description == "Todo \"0b341422-c516-4ee4-8f3e-ef1992dfff32\" already exists")
        #expect(Todo.Rejection.titleBlank.description == "title is blank")
        #expect(Todo.Rejection.invalidDate(field: "due_date").description == "due_date is invalid")
        #expect(Todo.Rejection.blank(field: "completed_on").description == "completed_on is blank")
    }

    /// Hardening 2, item 9: a todo amended thousands of times loads from a snapshot (every 100 events),
    /// stored in a format of its own (NOTE: golden: never changes silently).
    @Test func aTodosSnapshotIsStoredAsItsGoldenForm() throws {
        let policy = try #require(Todo.snapshotPolicy)
        #expect(policy.every == 100 && policy.schemaVersion == 1)
        let state = Todo.evolve(Todo.evolve(Todo.initialState, added), .completed(completedOn: "2017-01-03"))
        let encoded = String(decoding: try policy.encode(state), as: UTF8.self)
        let decoded = try policy.decode(Data(encoded.utf8))
        #expect(decoded.status == state.status && decoded.title == state.title && decoded.completedOn == "2017-01-03")
        let golden = #"{"cleared":false,"status":"outstanding","title":"golden"}"#
        let fromGolden = try policy.decode(Data(golden.utf8))
        #expect(fromGolden.status == .outstanding && fromGolden.title == "golden" && fromGolden.cleared == false)
        // Byte for byte: a snapshot's keys are sorted (they came in any order before 2026-12-06).
        #expect(String(decoding: try policy.encode(fromGolden), as: UTF8.self) == golden)
        #expect(throws: (any Error).self) { try policy.decode(Data(#"{"cleared":false,"status":"lost"}"#.utf8)) }
    }
}
