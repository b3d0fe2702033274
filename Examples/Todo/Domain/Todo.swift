import Chronicle

/// The Todo of EventSourcery's example application, as a pure decider, plus TodoMVC's reopen and clear.
///
/// Every todo is one stream, `todo-<id>`. Dates are calendar dates `YYYY-MM-DD` given by the caller.
public enum Todo: Decider {
    /// What one todo is now.
    public struct State: Sendable, Equatable {
        /// Where a todo is in its life.
        public enum Status: String, Sendable, Equatable, Codable {
            case unknown, outstanding, completed, abandoned
        }

        /// Where the todo is in its life.
        public var status: Status = .unknown
        /// A completed todo taken off the board (it stays in the completed history).
        public var cleared = false
        /// The title.
        public var title: String?
        /// The description.
        public var description: String?
        /// The due date, `YYYY-MM-DD`.
        public var dueDate: String?
        /// Who is mailed on completion.
        public var stakeholderEmail: String?
        /// When it was completed, `YYYY-MM-DD`.
        public var completedOn: String?

        /// The state of a todo that does not exist.
        public init() {}
    }

    /// What a todo's fields become on add.
    public struct Details: Sendable, Equatable, Codable {
        /// Required on add.
        public var title: String?
        /// Optional.
        public var description: String?
        /// Optional, `YYYY-MM-DD`.
        public var dueDate: String?
        /// Optional.
        public var stakeholderEmail: String?

        /// Details as a command gives them.
        public init(title: String?, description: String? = nil, dueDate: String? = nil, stakeholderEmail: String? = nil) {
            self.title = title
            self.description = description
            self.dueDate = dueDate
            self.stakeholderEmail = stakeholderEmail
        }

        enum CodingKeys: String, CodingKey { case title, description, dueDate = "due_date", stakeholderEmail = "stakeholder_email" }
    }

    /// What an amend changes: each field is left alone, cleared (JSON `null`) or set.
    public struct Amendment: Sendable, Equatable, Codable {
        /// The title (cannot be cleared).
        public var title: Patch<String>
        /// The description.
        public var description: Patch<String>
        /// The due date, `YYYY-MM-DD`.
        public var dueDate: Patch<String>
        /// The stakeholder's email.
        public var stakeholderEmail: Patch<String>

        /// An amendment; every field left alone unless given.
        public init(
            title: Patch<String> = .unchanged, description: Patch<String> = .unchanged, dueDate: Patch<String> = .unchanged,
            stakeholderEmail: Patch<String> = .unchanged
        ) {
            self.title = title
            self.description = description
            self.dueDate = dueDate
            self.stakeholderEmail = stakeholderEmail
        }

        enum CodingKeys: String, CodingKey { case title, description, dueDate = "due_date", stakeholderEmail = "stakeholder_email" }

        var isEmpty: Bool {
            title == .unchanged && description == .unchanged && dueDate == .unchanged && stakeholderEmail == .unchanged
        }
    }

    /// What can be asked of a todo.
    public enum Command: Sendable, Equatable {
        case add(TodoID, Details)
        case amend(TodoID, Amendment)
        case complete(TodoID, completedOn: String?)
        case abandon(TodoID, abandonedOn: String?)
        case moveUp(TodoID)
        case reopen(TodoID)
        case clear(TodoID)

        /// The todo the command is about.
        public var todoId: TodoID {
            switch self {
            case .add(let id, _), .amend(let id, _), .complete(let id, _), .abandon(let id, _), .moveUp(let id),
                .reopen(let id), .clear(let id):
                id
            }
        }
    }

    /// What can have happened to a todo.
    ///
    /// NOTE: stored format. EventSourcery's type names (`TodoAdded`, `TodoAmended`, `TodoCompleted`,
    /// `TodoAbandoned`, `TodoMovedUp`, `TodoReopened`, `TodoCleared`,
    /// `StakeholderNotifiedOfTodoCompletion`), schema version 1, and snake_case body keys. A body holds
    /// only the fields the command provided; in `TodoAmended` a `null` clears a field. The golden corpus
    /// in TodoDomainTests pins every one of them.
    public enum Event: CodableEvent, Equatable {
        case added(Details)
        case amended(Amendment)
        case completed(completedOn: String)
        case abandoned(abandonedOn: String)
        case movedUp
        case reopened
        case cleared
        case stakeholderNotifiedOfCompletion(notifiedOn: String)

        public enum CodingKeys: String, CodingKey, CaseIterable {
            case added = "TodoAdded", amended = "TodoAmended", completed = "TodoCompleted", abandoned = "TodoAbandoned"
            case movedUp = "TodoMovedUp", reopened = "TodoReopened", cleared = "TodoCleared"
            case stakeholderNotifiedOfCompletion = "StakeholderNotifiedOfTodoCompletion"
        }
        enum CompletedCodingKeys: String, CodingKey { case completedOn = "completed_on" }
        enum AbandonedCodingKeys: String, CodingKey { case abandonedOn = "abandoned_on" }
        enum StakeholderNotifiedOfCompletionCodingKeys: String, CodingKey { case notifiedOn = "notified_on" }
    }

    /// Why a command was refused: a blank or invalid field (`titleBlank`, `blank`, `invalidDate`) is the
    /// caller's malformed input; the others are broken business rules.
    public enum Rejection: Error, Equatable, Sendable, CustomStringConvertible {
        case titleBlank
        case blank(field: String)
        case invalidDate(field: String)
        case alreadyExists(TodoID)
        case doesNotExist(TodoID)
        case isComplete(TodoID)
        case isAbandoned(TodoID)
        case alreadyComplete(TodoID)
        case alreadyAbandoned(TodoID)
        case isNotComplete(TodoID)
        case isCleared(TodoID)

        public var description: String {
            switch self {
            case .titleBlank: "title is blank"
            case .blank(let field): "\(field) is blank"
            case .invalidDate(let field): "\(field) is invalid"
            case .alreadyExists(let id): "Todo \"\(id)\" already exists"
            case .doesNotExist(let id): "Todo \"\(id)\" does not exist"
            case .isComplete(let id): "Todo \"\(id)\" is complete"
            case .isAbandoned(let id): "Todo \"\(id)\" is abandoned"
            case .alreadyComplete(let id): "Todo \"\(id)\" already complete"
            case .alreadyAbandoned(let id): "Todo \"\(id)\" already abandoned"
            case .isNotComplete(let id): "Todo \"\(id)\" is not complete"
            case .isCleared(let id): "Todo \"\(id)\" is cleared"
            }
        }
    }

    /// The stream of one todo: `todo-<id>`.
    public static func stream(_ id: TodoID) -> StreamName {
        category.stream(id.uuid)
    }

    /// The category of todo streams.
    public static let category = try! StreamCategory("todo")  // safe: a literal valid category

    public static let initialState = State()

    /// Todos are snapshotted every 100 events: a todo amended thousands of times loads from its
    /// snapshot and the events after it.
    public static var snapshotPolicy: SnapshotPolicy<State>? { SnapshotPolicy(every: 100, schemaVersion: 1) }

    public static func decide(_ command: Command, _ state: State) throws(Rejection) -> [Event] {
        let id = command.todoId
        switch command {
        case .add(_, let details):
            guard let title = details.title, !title.isBlank else { throw .titleBlank }
            if let due = details.dueDate, !CalendarDate.isValid(due) { throw .invalidDate(field: "due_date") }
            guard state.status == .unknown else { throw .alreadyExists(id) }
            return [.added(details)]

        case .amend(_, let amendment):
            switch amendment.title {
            case .cleared: throw .titleBlank
            case .set(let title) where title.isBlank: throw .titleBlank
            default: break
            }
            if case .set(let due) = amendment.dueDate, !CalendarDate.isValid(due) { throw .invalidDate(field: "due_date") }
            try requireOutstanding(state, id)
            return amendment.isEmpty ? [] : [.amended(amendment)]

        case .complete(_, let completedOn):
            let date = try validDate(completedOn, field: "completed_on")
            switch state.status {
            case .unknown: throw .doesNotExist(id)
            case .abandoned: throw .isAbandoned(id)
            case .completed: throw .alreadyComplete(id)
            case .outstanding: return [.completed(completedOn: date)]
            }

        case .abandon(_, let abandonedOn):
            let date = try validDate(abandonedOn, field: "abandoned_on")
            switch state.status {
            case .unknown: throw .doesNotExist(id)
            case .completed: throw .isComplete(id)
            case .abandoned: throw .alreadyAbandoned(id)
            case .outstanding: return [.abandoned(abandonedOn: date)]
            }

        case .moveUp:
            try requireOutstanding(state, id)
            return [.movedUp]

        case .reopen:
            guard state.status != .unknown else { throw .doesNotExist(id) }
            guard state.status == .completed else { throw .isNotComplete(id) }
            guard !state.cleared else { throw .isCleared(id) }
            return [.reopened]

        case .clear:
            guard state.status != .unknown else { throw .doesNotExist(id) }
            guard state.status == .completed else { throw .isNotComplete(id) }
            return state.cleared ? [] : [.cleared]
        }
    }

    public static func evolve(_ state: State, _ event: Event) -> State {
        var state = state
        switch event {
        case .added(let details):
            state.status = .outstanding
            state.title = details.title
            state.description = details.description
            state.dueDate = details.dueDate
            state.stakeholderEmail = details.stakeholderEmail
        case .amended(let amendment):
            amendment.title.apply(to: &state.title)
            amendment.description.apply(to: &state.description)
            amendment.dueDate.apply(to: &state.dueDate)
            amendment.stakeholderEmail.apply(to: &state.stakeholderEmail)
        case .completed(let on):
            state.status = .completed
            state.completedOn = on
        case .abandoned:
            state.status = .abandoned
        case .movedUp, .stakeholderNotifiedOfCompletion:
            break
        case .reopened:
            state.status = .outstanding
            state.completedOn = nil
        case .cleared:
            state.cleared = true
        }
        return state
    }

    private static func requireOutstanding(_ state: State, _ id: TodoID) throws(Rejection) {
        switch state.status {
        case .unknown: throw .doesNotExist(id)
        case .completed: throw .isComplete(id)
        case .abandoned: throw .isAbandoned(id)
        case .outstanding: return
        }
    }

    private static func validDate(_ value: String?, field: String) throws(Rejection) -> String {
        guard let value, !value.isBlank else { throw .blank(field: field) }
        guard CalendarDate.isValid(value) else { throw .invalidDate(field: field) }
        return value
    }
}

extension String {
    var isBlank: Bool { allSatisfy(\.isWhitespace) }
}

/// Reverse events: how each Todo event is undone by a later one.
extension Todo: Compensating {
    public static func compensation(for event: Event, before: State, now: State) -> Compensation<Event> {
        func back(_ patch: Patch<String>, _ old: String?) -> Patch<String> {
            patch == .unchanged ? .unchanged : old.map(Patch.set) ?? .cleared
        }
        switch event {
        case .added:
            return .impossible(reason: "a todo cannot be un-added: revert to version 1 at the earliest")
        case .amended(let amendment):
            return .events([
                .amended(
                    Amendment(
                        title: back(amendment.title, before.title), description: back(amendment.description, before.description),
                        dueDate: back(amendment.dueDate, before.dueDate), stakeholderEmail: back(amendment.stakeholderEmail, before.stakeholderEmail)))
            ])
        case .completed, .abandoned:
            return .events([.reopened])
        case .reopened:
            guard let completedOn = before.completedOn else { return .impossible(reason: "the completion it reopened has no date") }
            return .events([.completed(completedOn: completedOn)])
        case .movedUp:
            return .impossible(reason: "moving up cannot be undone: there is no moving down")
        case .cleared:
            return .impossible(reason: "clearing cannot be undone")
        case .stakeholderNotifiedOfCompletion:
            return .nothing(reason: "the stakeholder's mail was sent; a revert does not recall it")
        }
    }
}

extension Todo.State: Codable {
    // NOTE: stored format (snapshots, schema 1): `{"status": "unknown|outstanding|completed|abandoned",
    // "cleared", "title", "description", "due_date", "stakeholder_email", "completed_on"}`, absent
    // fields for nil.
    private enum CodingKeys: String, CodingKey {
        case status, cleared, title, description, dueDate = "due_date", stakeholderEmail = "stakeholder_email"
        case completedOn = "completed_on"
    }
}

/// Stores todo events as JSON (their format: ``Todo/Event``).
public typealias TodoEventCodec = JSONEventCodec<Todo.Event>
